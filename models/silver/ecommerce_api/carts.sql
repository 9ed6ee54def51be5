{#- The API's current carts as shopping sessions of a user (the shop's customer id): the
    carts that passed validation (int_carts_validated; the others are in carts_quarantine). -#}
with

validated as (

    select * from {{ ref('int_carts_validated') }}
    where quarantine_reason is null

),

final as (

    select
        -- ids
        cart_id,
        customer_id,
        dlt_record_id,

        -- numerics
        product_count,
        total_quantity,
        total_amount,
        discounted_total_amount,

        -- timestamps
        first_seen_at

    from validated

)

select * from final
