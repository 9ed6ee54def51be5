with

validated as (

    select * from {{ ref('int_order_items_validated') }}

),

final as (

    select
        -- ids
        order_item_id,
        order_id,
        product_id,

        -- numerics
        quantity,
        unit_price,
        discount_amount,

        -- timestamps
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
