{#- One row per valid order; what an incremental run rebuilds: fct_orders.yml. A line is
    followed in silver too, not only in fct_order_items: a line that left gold (deleted or
    quarantined) leaves no row there to say its order changed. -#}
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

with

validated_orders as (

    select * from {{ ref('int_orders_validated') }}

),

validated_items as (

    select * from {{ ref('int_order_items_validated') }}

),

orders as (

    select * from {{ ref('orders') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

payment_changes as (

    select * from {{ ref('int_payments_deduplicated') }}

),

shipment_changes as (

    select * from {{ ref('int_shipments_deduplicated') }}

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
        ('validated_orders', 'validated_through_seq'),
        ('order_items', 'built_through_seq'),
        ('payment_changes', 'landed_seq'),
        ('shipment_changes', 'landed_seq'),
    ], 'built_through_seq', watermark) }}

),

{% if is_incremental() %}

changed_orders as (

    select validated_orders.order_id
    from validated_orders
    where
        {{ moved_since('validated_orders', watermark, last_built_at) }}

    union

    select order_items.order_id
    from order_items
    where
        {{ moved_since(
            'order_items', watermark, last_built_at, 'built_through_seq', 'built_at'
        ) }}

    union

    select validated_items.order_id
    from validated_items
    where
        {{ moved_since('validated_items', watermark, last_built_at) }}

    union

    select payment_changes.order_id
    from payment_changes
    where payment_changes.landed_seq > {{ watermark }}

    union

    select shipment_changes.order_id
    from shipment_changes
    where shipment_changes.landed_seq > {{ watermark }}

),

affected_customers as (

    select validated_orders.customer_id
    from validated_orders
    inner join changed_orders
        on validated_orders.order_id = changed_orders.order_id

    union

    -- the customer an order belonged to before this run: moved to another customer,
    -- it may leave the old one a new first order
    select previous_orders.customer_id
    from {{ this }} as previous_orders
    inner join changed_orders
        on previous_orders.order_id = changed_orders.order_id

),

{% endif %}

-- each order's place among its customer's orders, over all of a customer's orders (in an
-- incremental run: of the customers whose orders changed, now or before)
customer_orders as (

    select
        order_id,
        row_number() over (
            partition by customer_id
            order by placed_at, order_id
        ) as order_sequence
    from orders
    {% if is_incremental() %}
    where
        customer_id in (
            select affected_customers.customer_id from affected_customers
        )
    {% endif %}

),

{% if is_incremental() %}

-- rebuilt: the changed orders, and the other orders of their customers whose first-order
-- flag this run turns (the only thing of theirs that another order changes)
affected_orders as (

    select changed_orders.order_id
    from changed_orders

    union

    select customer_orders.order_id
    from customer_orders
    left join {{ this }} as previous_orders
        on customer_orders.order_id = previous_orders.order_id
    where
        previous_orders.order_id is null
        or {{ as_boolean('customer_orders.order_sequence = 1') }}
        != previous_orders.is_first_order

),

{% endif %}

order_lines as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as unit_count,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount
    from order_items
    {% if is_incremental() %}
    where order_id in (select affected_orders.order_id from affected_orders)
    {% endif %}
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
    {% if is_incremental() %}
    where order_id in (select affected_orders.order_id from affected_orders)
    {% endif %}
    group by order_id

),

order_shipments as (

    select
        order_id,
        min(shipped_at) as shipped_at,
        max(delivered_at) as delivered_at
    from shipments
    {% if is_incremental() %}
    where order_id in (select affected_orders.order_id from affected_orders)
    {% endif %}
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
    {% if is_incremental() %}
    inner join affected_orders
        on orders.order_id = affected_orders.order_id
    {% endif %}
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
