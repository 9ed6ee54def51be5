{#- The API's current carts as shopping sessions of a user (the shop's customer id). -#}
with

carts as (

    select * from {{ ref('stg_ecommerce_api__carts') }}
    where {{ is_true('is_current_version') }}

),

final as (

    select
        -- ids
        cart_id,
        user_id as customer_id,
        dlt_record_id,

        -- numerics
        product_count,
        total_quantity,
        total_amount,
        discounted_total_amount,

        -- timestamps
        valid_from as first_seen_at

    from carts
    where cart_id is not null

)

select * from final
