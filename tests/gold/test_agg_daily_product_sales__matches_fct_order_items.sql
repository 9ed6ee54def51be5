-- The incremental daily product sales agree with a fresh aggregation of fct_order_items
-- on every date and product: whatever incremental runs skipped or rebuilt, nothing is
-- stale, missing or doubled. Returns each (date, product) where they differ.
with

expected as (

    select
        order_date,
        product_id,
        sum(quantity) as unit_count,
        sum(net_amount) as net_amount
    from {{ ref('fct_order_items') }}
    where {{ is_true('counts_as_revenue') }}
    group by order_date, product_id

),

actual as (

    select
        order_date,
        product_id,
        unit_count,
        net_amount
    from {{ ref('agg_daily_product_sales') }}

)

select
    expected.net_amount as expected_net_amount,
    actual.net_amount as actual_net_amount,
    coalesce(expected.order_date, actual.order_date) as order_date,
    coalesce(expected.product_id, actual.product_id) as product_id
from expected
full outer join actual
    on
        expected.order_date = actual.order_date
        and expected.product_id = actual.product_id
where
    expected.order_date is null
    or actual.order_date is null
    or expected.unit_count <> actual.unit_count
    or expected.net_amount <> actual.net_amount
