{#- Every order key with the first validation rule its current row breaks, and what an
    incremental run re-validates: int_orders_validated.yml says both. `watermark` is what
    the last run saw, read when the model is compiled (previous_value). -#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{%- set watermark = previous_landed('validated_through_seq') if is_incremental() else none -%}

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

    {{ input_watermark([
        ('order_changes', 'landed_seq'),
        ('customer_changes', 'landed_seq'),
    ], 'validated_through_seq', watermark) }}

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

-- where each changed order is now and where it was before this run (customer, placed_at)
changed_positions as (

    select
        order_changes.customer_id,
        order_changes.placed_at
    from order_changes
    where order_changes.landed_seq > {{ watermark }}

    union

    select
        previous_orders.customer_id,
        previous_orders.placed_at
    from {{ this }} as previous_orders
    inner join order_changes
        on previous_orders.order_id = order_changes.order_id
    where order_changes.landed_seq > {{ watermark }}

),

affected_orders as (

    select order_changes.order_id
    from order_changes
    where order_changes.landed_seq > {{ watermark }}

    union

    -- the orders a changed order can be the earlier checkout of (duplicate_submission)
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

    -- only a customer's existence decides an order's verdict (orphan_customer): the
    -- orders of one that changed and is gone now, or that hold them as its orphans
    select order_changes.order_id
    from order_changes
    inner join customer_changes
        on order_changes.customer_id = customer_changes.customer_id
    left join customers
        on order_changes.customer_id = customers.customer_id
    left join {{ this }} as previous_orders
        on order_changes.order_id = previous_orders.order_id
    where
        customer_changes.landed_seq > {{ watermark }}
        and (
            customers.customer_id is null
            or previous_orders.quarantine_reason = 'orphan_customer'
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
            and generations.landed_seq > {{ watermark }}
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
        {{ build_stamp() }} as validated_at,

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
