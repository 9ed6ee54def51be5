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

final as (

    -- when each row's finding was first detected, looked up for the rows selected (a
    -- filter on this view, such as a test's changed-rows scope, reaches the history too;
    -- grouping the whole history first read all of it for every query)
    select
        validated.*,
        (
            select min(history.first_detected_at)
            from history
            where
                history.record_key = coalesce(
                    cast(validated.{{ key_column }} as {{ dbt.type_string() }}), '(missing)'
                )
                and history.quarantine_reason = validated.quarantine_reason
                and history.record_version = validated.{{ version_column }}
        ) as quarantined_at
    from validated

)

select * from final
{%- endmacro %}
