{#- Quarantine findings per day they were first found, source, entity and rule: the shop's
    (quarantine_history) and the API's (api_quarantine_history), each finding once (one per
    record, rule and record version). The dashboard's data-quality page reads it. -#}
with

shop as (

    select
        'mysql' as source_name,
        entity,
        quarantine_reason,
        first_detected_at
    from {{ ref('quarantine_history') }}

),

api as (

    select
        'ecommerce_api' as source_name,
        entity,
        quarantine_reason,
        first_detected_at
    from {{ ref('api_quarantine_history') }}

),

findings as (

    select * from shop
    union all
    select * from api

),

final as (

    select
        cast(first_detected_at as date) as detected_on,
        source_name,
        entity,
        quarantine_reason,
        cast(count(*) as {{ dbt.type_bigint() }}) as finding_count
    from findings
    group by
        cast(first_detected_at as date),
        source_name,
        entity,
        quarantine_reason

)

select * from final
