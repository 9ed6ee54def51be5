{#- One row per valid order line with its order's status, date and customer, and money:
    gross (quantity x unit price), discount and net (gross - discount). Cost and profit
    depend on the product's current cost and live in agg_category_profit.

    Incremental: a run rebuilds the lines re-validated in silver since the last build
    (`validated_through_seq`, which moves when the line, its order or its product changed,
    or `validated_at`, which also moves when a held order was released);
    the post-hook removes lines that are no longer valid (deleted or quarantined). -#}
{{
    config(
        materialized='incremental',
        unique_key='order_item_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "{{ delete_no_longer_valid('order_item_id', 'int_order_items_validated') }}"
        ],
    )
}}

{#- what the last build saw: constants, read when the model is compiled (previous_value) -#}
{%- set watermark = previous_landed('built_through_seq') if is_incremental() else none -%}
{%- set last_built_at = previous_value('max(built_at)', 'null') if is_incremental() else none -%}

with

validated_items as (

    select * from {{ ref('int_order_items_validated') }}

),

order_items as (

    select * from {{ ref('order_items') }}

),

orders as (

    select * from {{ ref('orders') }}

),

order_statuses as (

    select * from {{ ref('order_statuses') }}

),

run_watermark as (

    {{ input_watermark([
        ('validated_items', 'validated_through_seq'),
    ], 'built_through_seq', watermark) }}

),

final as (

    select
        -- ids
        order_items.order_item_id,
        order_items.order_id,
        order_items.product_id,
        orders.customer_id,

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

        -- booleans
        order_statuses.counts_as_revenue,

        -- dates and timestamps
        cast(orders.placed_at as date) as order_date,
        orders.placed_at,

        -- lineage
        run_watermark.built_through_seq,
        {{ build_stamp() }} as built_at

    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    inner join order_statuses
        on orders.order_status = order_statuses.order_status
    cross join run_watermark
    {% if is_incremental() %}
    where
        order_items.order_item_id in (
            select validated_items.order_item_id
            from validated_items
            where {{ moved_since('validated_items', watermark, last_built_at) }}
        )
    {% endif %}

)

select * from final
