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

    Incremental: a run re-validates only the affected orders: those whose latest change is
    newer than the last run's watermark; the orders of the same customer placed up to the
    duplicate window after a changed order, where it is now and where it was (the only
    orders whose duplicate_submission verdict it can change; each is checked against every
    current order of its customer, as in a full build); the orders of a customer that
    changed and is gone now, or held as its orphans (only a customer's existence decides
    orphan_customer); orders held as future_date that are due now (time moves on); and everything after a
    new snapshot generation. Keys that stopped being current
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

{#- what the last run saw: a constant, read when the model is compiled (previous_value) -#}
{%- set watermark = previous_value('max(validated_through_seq)', "''") if is_incremental() else none -%}

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

-- the inputs' highest cdc_seq: in an incremental run, of what came since the last one's
run_watermark as (

    select max(cdc_seq) as validated_through_seq
    from (
        select cdc_seq from order_changes
        {% if is_incremental() %}
        where cdc_seq > {{ watermark }}
        {% endif %}
        union all
        select cdc_seq from customer_changes
        {% if is_incremental() %}
        where cdc_seq > {{ watermark }}
        union all
        select {{ watermark }} as cdc_seq
        {% endif %}
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

-- where each changed order is now and where it was before this run (its customer and
-- placed_at): duplicate_submission compares an order with its customer's orders placed
-- up to duplicate_window_seconds before it
changed_positions as (

    select
        order_changes.customer_id,
        order_changes.placed_at
    from order_changes
    where order_changes.cdc_seq > {{ watermark }}

    union

    select
        previous_orders.customer_id,
        previous_orders.placed_at
    from {{ this }} as previous_orders
    inner join order_changes
        on previous_orders.order_id = order_changes.order_id
    where order_changes.cdc_seq > {{ watermark }}

),

affected_orders as (

    select order_changes.order_id
    from order_changes
    where order_changes.cdc_seq > {{ watermark }}

    union

    -- the orders a changed order can be the earlier checkout of, where it is now and where
    -- it was (moved in time, to another customer, deleted)
    select neighbours.order_id
    from order_changes as neighbours
    inner join changed_positions
        on
            neighbours.customer_id = changed_positions.customer_id
            and neighbours.placed_at >= changed_positions.placed_at
            and neighbours.placed_at <= {{ dbt.dateadd(
                'second', var('duplicate_window_seconds'), 'changed_positions.placed_at'
            ) }}

    union

    -- of a customer, only whether it exists decides an order's verdict (orphan_customer):
    -- the orders of a customer that changed and is gone now, and the orders held as
    -- orphans of one that changed (it may be back). A profile change re-validates nothing.
    select order_changes.order_id
    from order_changes
    inner join customer_changes
        on order_changes.customer_id = customer_changes.customer_id
    where
        customer_changes.cdc_seq > {{ watermark }}
        and (
            not exists (
                select 1
                from customers
                where customers.customer_id = order_changes.customer_id
            )
            or exists (
                select 1
                from {{ this }} as previous_orders
                where
                    previous_orders.order_id = order_changes.order_id
                    and previous_orders.quarantine_reason = 'orphan_customer'
            )
        )

    union

    -- time moves on: the orders held as future_date that are due now (the others stay
    -- held, unchanged)
    select order_id
    from {{ this }}
    where
        quarantine_reason = 'future_date'
        and placed_at <= {{ dbt.dateadd(
            'hour', var('future_date_tolerance_hours'), run_started_at_utc()
        ) }}

    union

    select order_changes.order_id
    from order_changes
    where exists (
        select 1
        from generations
        where
            generations.table_name in ('orders', 'customers')
            and generations.start_seq > {{ watermark }}
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

-- every current order of the customers in scope, changed or not: an order's earlier
-- checkout may be one that did not change (in a full build: every current order)
checkout_scope as (

    select
        latest.order_id,
        latest.customer_id,
        latest.total_amount,
        latest.placed_at
    from order_changes as latest
    where
        {{ cdc_is_current('orders') }}
        {% if is_incremental() %}
        and latest.customer_id in (select in_scope.customer_id from in_scope)
        {% endif %}

),

previous_checkout as (

    select
        order_id,
        lag(placed_at) over (
            partition by customer_id, total_amount
            order by placed_at, order_id
        ) as previous_same_checkout_at
    from checkout_scope

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
