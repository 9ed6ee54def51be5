{#- API carts that did not become an order: no valid order of the same customer holds
    exactly the cart's set of products. One row per abandoned cart with its value. -#}
with

carts as (

    select * from {{ ref('carts') }}

),

cart_lines as (

    select * from {{ ref('cart_lines') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

order_products as (

    select distinct
        order_id,
        customer_id,
        product_id
    from order_items

),

order_sizes as (

    select
        order_id,
        count(*) as product_count
    from order_products
    group by order_id

),

cart_sizes as (

    select
        cart_id,
        count(distinct product_id) as product_count
    from cart_lines
    group by cart_id

),

shared_products as (

    select
        cart_lines.cart_id,
        order_products.order_id,
        count(distinct cart_lines.product_id) as shared_count
    from cart_lines
    inner join order_products
        on
            cart_lines.customer_id = order_products.customer_id
            and cart_lines.product_id = order_products.product_id
    group by cart_lines.cart_id, order_products.order_id

),

converted as (

    select distinct shared_products.cart_id
    from shared_products
    inner join cart_sizes
        on shared_products.cart_id = cart_sizes.cart_id
    inner join order_sizes
        on shared_products.order_id = order_sizes.order_id
    where
        shared_products.shared_count = cart_sizes.product_count
        and shared_products.shared_count = order_sizes.product_count

),

final as (

    select
        -- ids
        carts.cart_id,
        carts.customer_id,

        -- numerics
        cast(carts.product_count as {{ dbt.type_int() }}) as product_count,
        cast(carts.total_quantity as {{ dbt.type_int() }}) as total_quantity,
        cast(carts.total_amount as decimal(18, 2)) as cart_amount,
        cast(carts.discounted_total_amount as decimal(18, 2))
            as discounted_cart_amount,

        -- timestamps
        carts.first_seen_at

    from carts
    left join converted
        on carts.cart_id = converted.cart_id
    where converted.cart_id is null

)

select * from final
