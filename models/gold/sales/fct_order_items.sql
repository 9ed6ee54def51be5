{#- One row per valid order line with its order's status and date, the product's category,
    and money: gross (quantity x unit price), discount, net (gross - discount), cost
    (quantity x the product's current cost) and profit (net - cost). -#}
with

order_items as (

    select * from {{ ref('order_items') }}

),

orders as (

    select * from {{ ref('orders') }}

),

products as (

    select * from {{ ref('products') }}

),

order_statuses as (

    select * from {{ ref('order_statuses') }}

),

final as (

    select
        -- ids
        order_items.order_item_id,
        order_items.order_id,
        order_items.product_id,
        orders.customer_id,
        products.category_id,

        -- text
        orders.order_status,

        -- numerics
        order_items.quantity,
        cast(order_items.unit_price as decimal(18, 2)) as unit_price,
        cast(order_items.quantity * order_items.unit_price as decimal(18, 2))
            as gross_amount,
        cast(order_items.discount_amount as decimal(18, 2)) as discount_amount,
        cast(
            order_items.quantity * order_items.unit_price
            - order_items.discount_amount as decimal(18, 2)
        ) as net_amount,
        cast(order_items.quantity * products.cost as decimal(18, 2)) as cost_amount,
        cast(
            order_items.quantity * order_items.unit_price
            - order_items.discount_amount
            - order_items.quantity * products.cost as decimal(18, 2)
        ) as profit_amount,

        -- booleans
        order_statuses.counts_as_revenue,

        -- dates and timestamps
        cast(orders.placed_at as date) as order_date,
        orders.placed_at

    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    inner join products
        on order_items.product_id = products.product_id
    inner join order_statuses
        on orders.order_status = order_statuses.order_status

)

select * from final
