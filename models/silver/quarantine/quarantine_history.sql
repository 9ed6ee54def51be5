{#- Every quarantine finding ever made, kept across runs: one row per entity, record, rule
    and record version (the change's cdc_seq, or the API record's content hash), with the run
    that first detected it. Append-only and exempt from --full-refresh, so history survives a
    rebuild of everything else; a finding whose record is later fixed stays here, and the
    per-entity quarantine models show only what is quarantined now. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}

with

orders as (

    select * from {{ ref('int_orders_validated') }}
    where
        {{ is_true('is_current') }}
        and quarantine_reason is not null

),

order_items as (

    select * from {{ ref('int_order_items_validated') }}
    where
        {{ is_true('is_current') }}
        and quarantine_reason is not null

),

api_products as (

    select * from {{ ref('int_api_products_validated') }}
    where quarantine_reason is not null

),

carts as (

    select * from {{ ref('int_carts_validated') }}
    where quarantine_reason is not null

),

api_users as (

    select * from {{ ref('int_api_users_validated') }}
    where quarantine_reason is not null

),

findings as (

    select
        'orders' as entity,
        coalesce(cast(order_id as {{ dbt.type_string() }}), '(missing)')
            as record_key,
        quarantine_reason,
        cdc_seq as record_version
    from orders

    union all

    select
        'order_items' as entity,
        coalesce(cast(order_item_id as {{ dbt.type_string() }}), '(missing)')
            as record_key,
        quarantine_reason,
        cdc_seq as record_version
    from order_items

    union all

    select
        'api_products' as entity,
        coalesce(cast(product_id as {{ dbt.type_string() }}), '(missing)')
            as record_key,
        quarantine_reason,
        content_hash as record_version
    from api_products

    union all

    select
        'carts' as entity,
        coalesce(cast(cart_id as {{ dbt.type_string() }}), '(missing)')
            as record_key,
        quarantine_reason,
        content_hash as record_version
    from carts

    union all

    select
        'api_users' as entity,
        coalesce(cast(user_id as {{ dbt.type_string() }}), '(missing)')
            as record_key,
        quarantine_reason,
        content_hash as record_version
    from api_users

),

new_findings as (

    select findings.*
    from findings
    {% if is_incremental() %}
    left join {{ this }} as known
        on
            findings.entity = known.entity
            and findings.record_key = known.record_key
            and findings.quarantine_reason = known.quarantine_reason
            and findings.record_version = known.record_version
    where known.entity is null
    {% endif %}

),

final as (

    select distinct
        -- ids
        cast(entity as {{ dbt.type_string() }}) as entity,
        cast(record_key as {{ dbt.type_string() }}) as record_key,
        cast(record_version as {{ dbt.type_string() }}) as record_version,

        -- text
        cast(quarantine_reason as {{ dbt.type_string() }}) as quarantine_reason,
        cast('{{ invocation_id }}' as {{ dbt.type_string() }})
            as detected_in_invocation_id,

        -- timestamps
        {{ run_started_at_utc() }} as first_detected_at

    from new_findings

)

select * from final
