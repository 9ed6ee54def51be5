{#- One row per valid order; what an incremental run rebuilds: fct_orders.yml. -#}
-- depends_on: {{ ref('int_order_items_validated') }}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "{{ delete_no_longer_valid('order_id', 'int_orders_validated') }}"
        ],
    )
}}

{#- what the last build saw: constants, read when the model is compiled (previous_value) -#}
{%- set watermark = previous_landed('built_through_seq') if is_incremental() else none -%}
{%- set last_built_at = previous_value('max(built_at)', 'null') if is_incremental() else none -%}
{#- an incremental run sums up only the orders it rebuilds -#}
{%- set rebuilt_only = 'where order_id in (select orders.order_id from orders)' if is_incremental() else '' -%}

with

orders as (

    select * from {{ ref('orders') }}
    {% if is_incremental() %}
    -- the orders a change upstream can touch (macros/rebuild_scopes.sql)
    where order_id in ({{ orders_to_rebuild(watermark, last_built_at) }})
    {% endif %}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

payments as (

    select * from {{ ref('payments') }}

),

shipments as (

    select * from {{ ref('shipments') }}

),

order_statuses as (

    select * from {{ ref('order_statuses') }}

),

run_watermark as (

    {{ input_watermark([
        (ref('int_orders_validated'), 'validated_through_seq'),
        (ref('fct_order_items'), 'built_through_seq'),
        (ref('int_payments_deduplicated'), 'landed_seq'),
        (ref('int_shipments_deduplicated'), 'landed_seq'),
    ], 'built_through_seq', watermark) }}

),

-- each order's place among its customer's orders, over all of a customer's orders
customer_orders as (

    select
        order_id,
        row_number() over (
            partition by customer_id
            order by placed_at, order_id
        ) as order_sequence
    from {{ ref('orders') }}
    {% if is_incremental() %}
    where customer_id in (select orders.customer_id from orders)
    {% endif %}

),

order_lines as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as unit_count,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount
    from order_items
    {{ rebuilt_only }}
    group by order_id

),

order_payments as (

    select
        order_id,
        sum(case when payment_status = 'captured' then amount else 0 end)
            as captured_amount,
        sum(case when payment_status = 'refunded' then amount else 0 end)
            as refunded_amount
    from payments
    {{ rebuilt_only }}
    group by order_id

),

order_shipments as (

    select
        order_id,
        min(shipped_at) as shipped_at,
        max(delivered_at) as delivered_at
    from shipments
    {{ rebuilt_only }}
    group by order_id

),

final as (

    select
        -- ids
        orders.order_id,
        orders.customer_id,

        -- text
        orders.order_status,
        orders.currency_code,

        -- numerics
        cast(coalesce(order_lines.line_count, 0) as {{ dbt.type_int() }})
            as line_count,
        cast(coalesce(order_lines.unit_count, 0) as {{ dbt.type_int() }})
            as unit_count,
        cast(orders.total_amount as decimal(18, 2)) as order_total_amount,
        cast(coalesce(order_lines.gross_amount, 0) as decimal(18, 2))
            as gross_amount,
        cast(coalesce(order_lines.discount_amount, 0) as decimal(18, 2))
            as discount_amount,
        cast(coalesce(order_lines.net_amount, 0) as decimal(18, 2))
            as net_amount,
        cast(coalesce(order_payments.captured_amount, 0) as decimal(18, 2))
            as captured_amount,
        cast(coalesce(order_payments.refunded_amount, 0) as decimal(18, 2))
            as refunded_amount,

        -- booleans
        order_statuses.counts_as_revenue,
        {{ as_boolean('customer_orders.order_sequence = 1') }}
            as is_first_order,

        -- dates and timestamps
        cast(orders.placed_at as date) as order_date,
        orders.placed_at,
        order_shipments.shipped_at,
        order_shipments.delivered_at,

        -- lineage
        run_watermark.built_through_seq,
        {{ build_stamp() }} as built_at

    from orders
    inner join customer_orders
        on orders.order_id = customer_orders.order_id
    inner join order_statuses
        on orders.order_status = order_statuses.order_status
    cross join run_watermark
    left join order_lines
        on orders.order_id = order_lines.order_id
    left join order_payments
        on orders.order_id = order_payments.order_id
    left join order_shipments
        on orders.order_id = order_shipments.order_id

)

select * from final
