-- Gold revenue equals the silver order-item sum: for every valid order, fct_orders'
-- net amount is the sum of quantity x unit price - discount over its valid silver lines.
-- Returns the orders where the two differ.
with

silver_lines as (

    select
        order_id,
        sum(quantity * unit_price - discount_amount) as net_amount
    from {{ ref('order_items') }}
    group by order_id

),

gold_orders as (

    select
        order_id,
        net_amount
    from {{ ref('fct_orders') }}

)

select
    gold_orders.order_id,
    gold_orders.net_amount as gold_net_amount,
    coalesce(silver_lines.net_amount, 0) as silver_net_amount
from gold_orders
left join silver_lines
    on gold_orders.order_id = silver_lines.order_id
where gold_orders.net_amount <> coalesce(silver_lines.net_amount, 0)
