{#- Every current order (cleaned) with the first validation rule it breaks, or null. The
    rules, in the order they are checked:
      missing_key           no order id
      unknown_status        the trimmed, lower-cased status is not in the order_statuses seed
      orphan_customer       the customer does not exist (now)
      unparseable_date      no placed_at (a zero or unreadable date lands as null)
      future_date           placed more than `future_date_tolerance_hours` after this run started
      duplicate_submission  the same customer and amount as an order placed at most
                            `duplicate_window_seconds` earlier (a double-clicked checkout)
    orders.sql keeps the rows without a reason, orders_quarantine the others. -#}
with

latest as (

    select * from {{ ref('int_orders_deduplicated') }}

),

order_statuses as (

    select * from {{ ref('order_statuses') }}

),

customers as (

    select * from {{ ref('customers') }}

),

current_orders as (

    select * from latest
    where {{ cdc_is_current('orders') }}

),

cleaned as (

    select
        order_id,
        customer_id,
        shipping_address_id,
        lower({{ clean_text('order_status') }}) as order_status,
        order_status as order_status_as_written,
        upper({{ clean_text('currency_code') }}) as currency_code,
        total_amount,
        placed_at,
        created_at,
        updated_at,
        cdc_seq
    from current_orders

),

checked as (

    select
        cleaned.*,
        order_statuses.order_status as accepted_status,
        customers.customer_id as existing_customer_id,
        lag(cleaned.placed_at) over (
            partition by cleaned.customer_id, cleaned.total_amount
            order by cleaned.placed_at, cleaned.order_id
        ) as previous_same_checkout_at
    from cleaned
    left join order_statuses
        on cleaned.order_status = order_statuses.order_status
    left join customers
        on cleaned.customer_id = customers.customer_id

),

final as (

    select
        -- ids
        order_id,
        customer_id,
        shipping_address_id,

        -- text
        order_status,
        order_status_as_written,
        currency_code,

        -- numerics
        total_amount,

        -- timestamps
        placed_at,
        created_at,
        updated_at,

        -- lineage
        cdc_seq,

        -- validation
        case
            when order_id is null then 'missing_key'
            when accepted_status is null then 'unknown_status'
            when existing_customer_id is null then 'orphan_customer'
            when placed_at is null then 'unparseable_date'
            when
                placed_at > {{ dbt.dateadd(
                    'hour', var('future_date_tolerance_hours'), run_started_at_utc()
                ) }}
                then 'future_date'
            when
                previous_same_checkout_at is not null
                and {{ dbt.datediff('previous_same_checkout_at', 'placed_at', 'second') }}
                <= {{ var('duplicate_window_seconds') }}
                then 'duplicate_submission'
        end as quarantine_reason

    from checked

)

select * from final
