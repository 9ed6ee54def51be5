{#- The lines of the current carts: one row per product in a cart. -#}
with

carts as (

    select * from {{ ref('carts') }}

),

cart_products as (

    select * from {{ ref('stg_ecommerce_api__cart_products') }}

),

final as (

    select
        -- ids
        cart_products.cart_product_id as cart_line_id,
        carts.cart_id,
        carts.customer_id,
        cart_products.product_id,

        -- numerics
        cart_products.list_index as line_number,
        cart_products.quantity,
        cart_products.unit_price,
        cart_products.line_amount,
        cart_products.discount_percentage,
        cart_products.discounted_line_amount

    from cart_products
    inner join carts
        on cart_products.parent_record_id = carts.dlt_record_id

)

select * from final
