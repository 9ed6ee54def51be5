{#- The body of a quarantine history model: every finding of the validated models in
    `validated_models` (tuples of entity, model, key column, version column, and whether to
    keep only rows flagged is_current), appended once per entity, record, rule and record
    version, with the run that first detected it. One history per source, so each source's
    models build alone. -#}
{% macro quarantine_history_of(validated_models) -%}
with

findings as (
    {% for entity, model, key_column, version_column, current_only in validated_models %}
    select
        '{{ entity }}' as entity,
        coalesce(cast({{ key_column }} as {{ dbt.type_string() }}), '(missing)')
            as record_key,
        quarantine_reason,
        {{ version_column }} as record_version
    from {{ ref(model) }}
    where
        quarantine_reason is not null
        {% if current_only %}and {{ lakeshop.is_true('is_current') }}{% endif %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
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
        {{ lakeshop.run_started_at_utc() }} as first_detected_at

    from new_findings

)

select * from final
{%- endmacro %}
