with

validated as (

    select * from {{ ref('int_orders_validated') }}

),

final as (

    select
        -- ids
        order_id,
        customer_id,
        shipping_address_id,

        -- text
        order_status,
        currency_code,

        -- numerics
        total_amount,

        -- timestamps
        placed_at,
        created_at,
        updated_at,

        -- lineage
        cdc_seq,
        validated_at

    from validated
    where
        {{ is_true('is_current') }}
        and quarantine_reason is null

)

select * from final
