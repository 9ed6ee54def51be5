{#- The body of a `<entity>_quarantine` model: the rows of a validated model that broke a
    rule, with when that finding was first detected (from the source's history model:
    quarantine_history for the shop, api_quarantine_history for the API).
    `current_only` filters on the validated model's is_current column (change-log entities
    keep tombstones there; API entities hold current versions only). -#}
{% macro current_quarantine(validated_model, entity, key_column, version_column, current_only=true, history_model='quarantine_history') -%}
with

validated as (

    select * from {{ ref(validated_model) }}
    where
        quarantine_reason is not null
        {% if current_only %}and {{ lakeshop.is_true('is_current') }}{% endif %}

),

history as (

    select * from {{ ref(history_model) }}
    where entity = '{{ entity }}'

),

first_detection as (

    select
        record_key,
        quarantine_reason,
        record_version,
        min(first_detected_at) as first_detected_at
    from history
    group by record_key, quarantine_reason, record_version

),

final as (

    select
        validated.*,
        first_detection.first_detected_at as quarantined_at
    from validated
    left join first_detection
        on
            coalesce(cast(validated.{{ key_column }} as {{ dbt.type_string() }}), '(missing)')
            = first_detection.record_key
            and validated.quarantine_reason = first_detection.quarantine_reason
            and validated.{{ version_column }} = first_detection.record_version

)

select * from final
{%- endmacro %}
