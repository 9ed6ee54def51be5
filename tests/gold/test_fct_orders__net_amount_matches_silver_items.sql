-- Gold revenue equals the silver order-item sum: for every valid order, fct_orders'
-- net amount is the sum of quantity x unit price - discount over its valid silver lines.
-- Returns the orders where the two differ. Compares the orders either side wrote since
-- the test last passed (keys_written_since), the whole table the first time.
{%- set written = lakeshop.keys_written_since(model, 'order_id', [
    (ref('fct_orders'), 'built_at'), (ref('int_order_items_validated'), 'validated_at')
]) %}
with

silver_lines as (

    select
        order_id,
        sum(quantity * unit_price - discount_amount) as net_amount
    from {{ ref('order_items') }}
    {% if written %}
    where order_id in ({{ written }})
    {% endif %}
    group by order_id

),

gold_orders as (

    select
        order_id,
        net_amount
    from {{ ref('fct_orders') }}
    {% if written %}
    where order_id in ({{ written }})
    {% endif %}

)

select
    gold_orders.order_id,
    gold_orders.net_amount as gold_net_amount,
    coalesce(silver_lines.net_amount, 0) as silver_net_amount
from gold_orders
left join silver_lines
    on gold_orders.order_id = silver_lines.order_id
where gold_orders.net_amount <> coalesce(silver_lines.net_amount, 0)
