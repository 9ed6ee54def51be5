{#- Sales per day and product from orders that count as revenue: orders, units, gross,
    discount and net. Incremental by date: a run rebuilds every date holding an order or order
    line re-validated in silver since the last build (deletes and quarantines included), the
    day such an order was on before it moved (`previous_placed_at`), plus
    the last `incremental_lookback_days` built days, replacing those dates whole
    (delete+insert on order_date). delete+insert replaces only the dates the new batch
    holds, so a date whose last revenue order left (cancelled, quarantined, deleted) would
    keep its old rows: the post-hook removes dates no revenue line holds any more. -#}
{{
    config(
        materialized='incremental',
        unique_key='order_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "delete from {{ this }} where order_date not in"
            ~ " (select order_date from {{ ref('fct_order_items') }}"
            ~ " where {{ is_true('counts_as_revenue') }})"
        ],
    )
}}

{#- what the last build saw: constants, read when the model is compiled (previous_value) -#}
{%- set last_built_date = previous_value('max(order_date)', 'null') if is_incremental() else none -%}
{%- set watermark = previous_landed('built_through_seq') if is_incremental() else none -%}
{%- set last_built_at = previous_value('max(built_at)', 'null') if is_incremental() else none -%}

with

order_items as (

    select * from {{ ref('fct_order_items') }}
    where {{ is_true('counts_as_revenue') }}

),

validated_orders as (

    select * from {{ ref('int_orders_validated') }}

),

validated_items as (

    select * from {{ ref('int_order_items_validated') }}

),

run_watermark as (

    {{ input_watermark([
        ('validated_orders', 'validated_through_seq'),
        ('validated_items', 'validated_through_seq'),
    ], 'built_through_seq', watermark) }}

),

{% if is_incremental() %}

changed_dates as (

    select cast(validated_orders.placed_at as date) as order_date
    from validated_orders
    where
        {{ moved_since('validated_orders', watermark, last_built_at) }}

    union

    -- the day a re-validated order was on before (an order moved in time)
    select cast(validated_orders.previous_placed_at as date) as order_date
    from validated_orders
    where
        {{ moved_since('validated_orders', watermark, last_built_at) }}
        and validated_orders.previous_placed_at is not null

    union

    select cast(validated_orders.placed_at as date) as order_date
    from validated_items
    inner join validated_orders
        on validated_items.order_id = validated_orders.order_id
    where
        {{ moved_since('validated_items', watermark, last_built_at) }}

    union

    select order_items.order_date
    from order_items
    where
        order_items.order_date >= {{ dbt.dateadd(
            'day', -var('incremental_lookback_days'), last_built_date
        ) }}

),

{% endif %}

final as (

    select
        -- ids
        order_items.order_date,
        order_items.product_id,

        -- numerics
        cast(count(distinct order_items.order_id) as {{ dbt.type_int() }})
            as order_count,
        cast(sum(order_items.quantity) as {{ dbt.type_bigint() }})
            as unit_count,
        cast(sum(order_items.gross_amount) as decimal(18, 2)) as gross_amount,
        cast(sum(order_items.discount_amount) as decimal(18, 2))
            as discount_amount,
        cast(sum(order_items.net_amount) as decimal(18, 2)) as net_amount,

        -- lineage
        max(run_watermark.built_through_seq) as built_through_seq,
        {{ build_stamp() }} as built_at

    from order_items
    cross join run_watermark
    {% if is_incremental() %}
    where
        order_items.order_date in (
            select changed_dates.order_date from changed_dates
        )
    {% endif %}
    group by order_items.order_date, order_items.product_id

)

select * from final
