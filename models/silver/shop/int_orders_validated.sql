{#- Every order key with the first validation rule its current row breaks, and what an
    incremental run re-validates: int_orders_validated.yml says both. -#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- what the last run saw: a constant, read when the model is compiled (previous_value) -#}
{%- set watermark = previous_landed('validated_through_seq') if is_incremental() else none -%}
{#- the placed_at each order had before this run (the day it moved away from) -#}
{%- set previous_placed_at = 'previous_orders.placed_at' if is_incremental()
    else 'cast(null as ' ~ dbt.type_timestamp() ~ ')' -%}

with

order_changes as (

    select * from {{ ref('int_orders_deduplicated') }}

),

customers as (

    select * from {{ ref('customers') }}

),

order_statuses as (

    select * from {{ ref('order_statuses') }}

),

run_watermark as (

    {{ input_watermark([
        ('order_changes', 'landed_seq'),
        (ref('int_customers_deduplicated'), 'landed_seq'),
    ], 'validated_through_seq', watermark) }}

),

in_scope as (

    select
        latest.order_id,
        latest.customer_id,
        latest.shipping_address_id,
        lower({{ clean_text('latest.order_status') }}) as order_status,
        latest.order_status as order_status_as_written,
        upper({{ clean_text('latest.currency_code') }}) as currency_code,
        latest.total_amount,
        latest.placed_at,
        latest.created_at,
        latest.updated_at,
        latest.cdc_seq,
        {{ as_boolean(cdc_is_current('orders')) }} as is_current
    from order_changes as latest
    {% if is_incremental() %}
    -- the orders a change can touch (macros/rebuild_scopes.sql)
    where latest.order_id in ({{ orders_to_revalidate(watermark) }})
    {% endif %}

),

-- each order's latest earlier checkout of the same total by its customer, over every
-- current order of the customers in scope (the earlier one may not have changed)
previous_checkout as (

    select
        latest.order_id,
        lag(latest.placed_at) over (
            partition by latest.customer_id, latest.total_amount
            order by latest.placed_at, latest.order_id
        ) as previous_same_checkout_at
    from order_changes as latest
    where
        {{ cdc_is_current('orders') }}
        {% if is_incremental() %}
        and latest.customer_id in (select in_scope.customer_id from in_scope)
        {% endif %}

),

final as (

    select
        -- ids
        in_scope.order_id,
        in_scope.customer_id,
        in_scope.shipping_address_id,

        -- text
        in_scope.order_status,
        in_scope.order_status_as_written,
        in_scope.currency_code,

        -- numerics
        in_scope.total_amount,

        -- booleans
        in_scope.is_current,

        -- timestamps
        in_scope.placed_at,
        in_scope.created_at,
        in_scope.updated_at,
        {{ previous_placed_at }} as previous_placed_at,

        -- lineage
        in_scope.cdc_seq,
        run_watermark.validated_through_seq,
        {{ build_stamp() }} as validated_at,

        -- validation
        case
            when not ({{ is_true('in_scope.is_current') }}) then null
            when in_scope.order_id is null then 'missing_key'
            when order_statuses.order_status is null then 'unknown_status'
            when customers.customer_id is null then 'orphan_customer'
            when in_scope.placed_at is null then 'unparseable_date'
            when in_scope.total_amount < 0 then 'negative_total'
            when
                in_scope.placed_at > {{ dbt.dateadd(
                    'hour', var('future_date_tolerance_hours'), run_started_at_utc()
                ) }}
                then 'future_date'
            when
                previous_checkout.previous_same_checkout_at is not null
                and {{ dbt.datediff(
                    'previous_checkout.previous_same_checkout_at',
                    'in_scope.placed_at',
                    'second'
                ) }}
                <= {{ var('duplicate_window_seconds') }}
                then 'duplicate_submission'
        end as quarantine_reason

    from in_scope
    cross join run_watermark
    left join order_statuses
        on in_scope.order_status = order_statuses.order_status
    left join customers
        on in_scope.customer_id = customers.customer_id
    left join previous_checkout
        on in_scope.order_id = previous_checkout.order_id
    {% if is_incremental() %}
    left join {{ this }} as previous_orders
        on in_scope.order_id = previous_orders.order_id
    {% endif %}

)

select * from final
