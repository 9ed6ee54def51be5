{#- Every order key (current or not) with the first validation rule its current row breaks.
    The rules, in the order they are checked:
      missing_key           no order id
      unknown_status        the trimmed, lower-cased status is not in the order_statuses seed
      orphan_customer       the customer does not exist (now)
      unparseable_date      no placed_at (a zero or unreadable date lands as null)
      negative_total        the order header's total is below zero (the shop summed lines
                            with a negative quantity or price into it)
      future_date           placed more than `future_date_tolerance_hours` after this run started
      duplicate_submission  the same customer and amount as an order placed at most
                            `duplicate_window_seconds` earlier (a double-clicked checkout)
    orders and orders_quarantine are views on the current rows of this table.

    Incremental: a run re-validates only the affected orders, those whose latest change is
    newer than the last run's watermark, every order of a customer who changed, placed a
    changed order or had it before the change (orphan and duplicate checks look at them), orders held as future_date (time
    moves on), and everything after a new snapshot generation. Keys that stopped being current
    stay as rows with is_current false, so delete+insert replaces them like any other.

    Besides the input watermark (validated_through_seq, the highest cdc_seq of the inputs),
    every re-validated row gets validated_at, the run's start: it moves in every run that
    re-validates a row, also a run with no new change (a future_date order released only
    because time went on), and the models downstream pick up what moved on either.
    previous_placed_at is the placed_at the order had before this run re-validated it, so
    the daily aggregate also rebuilds the day an order moved away from. -#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

with

order_changes as (

    select * from {{ ref('int_orders_deduplicated') }}

),

customer_changes as (

    select * from {{ ref('int_customers_deduplicated') }}

),

customers as (

    select * from {{ ref('customers') }}

),

order_statuses as (

    select * from {{ ref('order_statuses') }}

),

generations as (

    select * from {{ ref('stg_mysql__cdc_snapshots') }}

),

run_watermark as (

    select max(cdc_seq) as validated_through_seq
    from (
        select cdc_seq from order_changes
        union all
        select cdc_seq from customer_changes
    ) as inputs

),

-- the placed_at each order had before this run (none in a full build)
previous_versions as (

    {% if is_incremental() %}
    select
        order_id,
        placed_at as previous_placed_at
    from {{ this }}
    {% else %}
    select
        cast(null as {{ dbt.type_bigint() }}) as order_id,
        cast(null as {{ dbt.type_timestamp() }}) as previous_placed_at
    where 1 = 0
    {% endif %}

),

{% if is_incremental() %}

previous_run as (

    select coalesce(max(validated_through_seq), '') as watermark from {{ this }}

),

touched_customers as (

    select order_changes.customer_id
    from order_changes
    cross join previous_run
    where order_changes.cdc_seq > previous_run.watermark

    union

    -- the customer a changed order belonged to before: moved to another customer (or
    -- deleted), it may leave an order of the old one that is no longer a duplicate
    select previous_orders.customer_id
    from {{ this }} as previous_orders
    inner join order_changes
        on previous_orders.order_id = order_changes.order_id
    cross join previous_run
    where order_changes.cdc_seq > previous_run.watermark

    union

    select customer_changes.customer_id
    from customer_changes
    cross join previous_run
    where customer_changes.cdc_seq > previous_run.watermark

),

affected_orders as (

    select order_changes.order_id
    from order_changes
    cross join previous_run
    where order_changes.cdc_seq > previous_run.watermark

    union

    select order_changes.order_id
    from order_changes
    inner join touched_customers
        on order_changes.customer_id = touched_customers.customer_id

    union

    select order_id
    from {{ this }}
    where quarantine_reason = 'future_date'

    union

    select order_changes.order_id
    from order_changes
    cross join previous_run
    where exists (
        select 1
        from generations
        where
            generations.table_name in ('orders', 'customers')
            and generations.start_seq > previous_run.watermark
    )

),

{% endif %}

in_scope as (

    select
        latest.*,
        {{ as_boolean(cdc_is_current('orders')) }} as is_current
    from order_changes as latest
    {% if is_incremental() %}
    inner join affected_orders
        on latest.order_id = affected_orders.order_id
    {% endif %}

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
        cdc_seq,
        is_current
    from in_scope

),

previous_checkout as (

    select
        order_id,
        lag(placed_at) over (
            partition by customer_id, total_amount
            order by placed_at, order_id
        ) as previous_same_checkout_at
    from cleaned
    where {{ is_true('is_current') }}

),

checked as (

    select
        cleaned.*,
        order_statuses.order_status as accepted_status,
        customers.customer_id as existing_customer_id,
        previous_checkout.previous_same_checkout_at
    from cleaned
    left join order_statuses
        on cleaned.order_status = order_statuses.order_status
    left join customers
        on cleaned.customer_id = customers.customer_id
    left join previous_checkout
        on cleaned.order_id = previous_checkout.order_id

),

final as (

    select
        -- ids
        checked.order_id,
        checked.customer_id,
        checked.shipping_address_id,

        -- text
        checked.order_status,
        checked.order_status_as_written,
        checked.currency_code,

        -- numerics
        checked.total_amount,

        -- booleans
        checked.is_current,

        -- timestamps
        checked.placed_at,
        checked.created_at,
        checked.updated_at,
        previous_versions.previous_placed_at,

        -- lineage
        checked.cdc_seq,
        run_watermark.validated_through_seq,
        {{ run_started_at_utc() }} as validated_at,

        -- validation
        case
            when not ({{ is_true('checked.is_current') }}) then null
            when checked.order_id is null then 'missing_key'
            when checked.accepted_status is null then 'unknown_status'
            when checked.existing_customer_id is null then 'orphan_customer'
            when checked.placed_at is null then 'unparseable_date'
            when checked.total_amount < 0 then 'negative_total'
            when
                checked.placed_at > {{ dbt.dateadd(
                    'hour', var('future_date_tolerance_hours'), run_started_at_utc()
                ) }}
                then 'future_date'
            when
                checked.previous_same_checkout_at is not null
                and {{ dbt.datediff(
                    'checked.previous_same_checkout_at', 'checked.placed_at', 'second'
                ) }}
                <= {{ var('duplicate_window_seconds') }}
                then 'duplicate_submission'
        end as quarantine_reason

    from checked
    cross join run_watermark
    left join previous_versions
        on checked.order_id = previous_versions.order_id

)

select * from final
