{#- Sales per day and product (orders that count as revenue). Incremental by date: a run
    rebuilds the last `incremental_lookback_days` days already built plus every date with an
    order or order line changed since the last build (found through the silver change
    models, deletes included), replacing those dates whole (delete+insert on order_date). -#}
{{
    config(
        materialized='incremental',
        unique_key='order_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

with

order_items as (

    select * from {{ ref('fct_order_items') }}
    where {{ is_true('counts_as_revenue') }}

),

order_changes as (

    select * from {{ ref('int_orders_deduplicated') }}

),

item_changes as (

    select * from {{ ref('int_order_items_deduplicated') }}

),

watermark as (

    select max(cdc_seq) as built_through_seq from order_changes

),

{%- if is_incremental() %}

previous_build as (

    select
        max(order_date) as last_built_date,
        max(built_through_seq) as built_through_seq
    from {{ this }}

),

changed_dates as (

    select distinct cast(order_changes.placed_at as date) as order_date
    from order_changes
    cross join previous_build
    where order_changes.cdc_seq > previous_build.built_through_seq

    union all

    select distinct cast(order_changes.placed_at as date) as order_date
    from item_changes
    inner join order_changes
        on item_changes.order_id = order_changes.order_id
    cross join previous_build
    where item_changes.cdc_seq > previous_build.built_through_seq

    union all

    select distinct order_items.order_date
    from order_items
    cross join previous_build
    where
        order_items.order_date >= {{ dbt.dateadd(
            'day', -var('incremental_lookback_days'), 'previous_build.last_built_date'
        ) }}

),

{%- endif %}

final as (

    select
        -- ids
        order_items.order_date,
        order_items.product_id,

        -- numerics
        cast(count(distinct order_items.order_id) as {{ dbt.type_int() }}) as order_count,
        cast(sum(order_items.quantity) as {{ dbt.type_bigint() }}) as unit_count,
        cast(sum(order_items.gross_amount) as decimal(18, 2)) as gross_amount,
        cast(sum(order_items.discount_amount) as decimal(18, 2)) as discount_amount,
        cast(sum(order_items.net_amount) as decimal(18, 2)) as net_amount,
        cast(sum(order_items.cost_amount) as decimal(18, 2)) as cost_amount,
        cast(sum(order_items.profit_amount) as decimal(18, 2)) as profit_amount,

        -- lineage
        max(watermark.built_through_seq) as built_through_seq

    from order_items
    cross join watermark
    {%- if is_incremental() %}
    where order_items.order_date in (select order_date from changed_dates)
    {%- endif %}
    group by order_items.order_date, order_items.product_id

)

select * from final
