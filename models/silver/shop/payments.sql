with

latest as (

    select * from {{ ref('int_payments_deduplicated') }}

),

current_payments as (

    select * from latest
    where {{ cdc_is_current('payments') }}

),

final as (

    select
        -- ids
        payment_id,
        order_id,

        -- text
        lower({{ clean_text('payment_method') }}) as payment_method,
        lower({{ clean_text('payment_status') }}) as payment_status,

        -- numerics
        amount,

        -- timestamps
        paid_at,
        created_at,
        updated_at,

        -- lineage
        cdc_seq,
        built_at

    from current_payments

)

select * from final
