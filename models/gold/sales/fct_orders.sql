{#- One row per valid order: status, dates, line totals from fct_order_items, payments
    captured and refunded, shipping times, and whether it was the customer's first order. -#}
with

orders as (

    select * from {{ ref('orders') }}

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

order_lines as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as unit_count,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount,
        sum(cost_amount) as cost_amount,
        sum(profit_amount) as profit_amount
    from order_items
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
    group by order_id

),

order_shipments as (

    select
        order_id,
        min(shipped_at) as shipped_at,
        max(delivered_at) as delivered_at
    from shipments
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
        cast(coalesce(order_lines.line_count, 0) as {{ dbt.type_int() }}) as line_count,
        cast(coalesce(order_lines.unit_count, 0) as {{ dbt.type_int() }}) as unit_count,
        cast(orders.total_amount as decimal(18, 2)) as order_total_amount,
        cast(coalesce(order_lines.gross_amount, 0) as decimal(18, 2)) as gross_amount,
        cast(coalesce(order_lines.discount_amount, 0) as decimal(18, 2))
            as discount_amount,
        cast(coalesce(order_lines.net_amount, 0) as decimal(18, 2)) as net_amount,
        cast(coalesce(order_lines.cost_amount, 0) as decimal(18, 2)) as cost_amount,
        cast(coalesce(order_lines.profit_amount, 0) as decimal(18, 2)) as profit_amount,
        cast(coalesce(order_payments.captured_amount, 0) as decimal(18, 2))
            as captured_amount,
        cast(coalesce(order_payments.refunded_amount, 0) as decimal(18, 2))
            as refunded_amount,

        -- booleans
        order_statuses.counts_as_revenue,
        {{ as_boolean(
            "row_number() over (partition by orders.customer_id"
            ~ " order by orders.placed_at, orders.order_id) = 1"
        ) }} as is_first_order,

        -- dates and timestamps
        cast(orders.placed_at as date) as order_date,
        orders.placed_at,
        order_shipments.shipped_at,
        order_shipments.delivered_at

    from orders
    inner join order_statuses
        on orders.order_status = order_statuses.order_status
    left join order_lines
        on orders.order_id = order_lines.order_id
    left join order_payments
        on orders.order_id = order_payments.order_id
    left join order_shipments
        on orders.order_id = order_shipments.order_id

)

select * from final
