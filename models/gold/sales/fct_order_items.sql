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
            "delete from {{ this }} where order_item_id not in"
            ~ " (select order_item_id from {{ ref('order_items') }})"
        ],
    )
}}

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

    select max(validated_through_seq) as built_through_seq from validated_items

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
        {{ run_started_at_utc() }} as built_at

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
            cross join (
                select
                    coalesce(max(this_model.built_through_seq), '')
                        as watermark,
                    max(this_model.built_at) as last_built_at
                from {{ this }} as this_model
            ) as previous_build
            where
                {{ moved_since('validated_items', 'previous_build') }}
        )
    {% endif %}

)

select * from final
