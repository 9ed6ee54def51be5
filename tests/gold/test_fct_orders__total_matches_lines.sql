-- The shop's own order total reconciles with the revenue lakeshop derives from the
-- lines: for every order in gold none of whose lines is quarantined, the header's
-- total_amount equals quantity x unit price - discount over its lines.
-- Returns the orders where they differ. A warning: the difference is in the source (a
-- header the shop did not update after its lines changed), and gold's revenue comes from
-- the lines either way. Compares the orders either side wrote since the test last passed
-- (keys_written_since), the whole table the first time.
{{ config(severity='warn') }}
{%- set written = lakeshop.keys_written_since(model, 'order_id', [
    (ref('fct_orders'), 'built_at'), (ref('int_order_items_validated'), 'validated_at')
]) %}
with

quarantined_lines as (

    select distinct order_id
    from {{ ref('order_items_quarantine') }}
    {% if written %}
    where order_id in ({{ written }})
    {% endif %}

),

gold_orders as (

    select
        order_id,
        order_total_amount,
        net_amount
    from {{ ref('fct_orders') }}
    {% if written %}
    where order_id in ({{ written }})
    {% endif %}

)

select
    gold_orders.order_id,
    gold_orders.order_total_amount,
    gold_orders.net_amount
from gold_orders
left join quarantined_lines
    on gold_orders.order_id = quarantined_lines.order_id
where
    quarantined_lines.order_id is null
    and abs(gold_orders.order_total_amount - gold_orders.net_amount) > 0.01
