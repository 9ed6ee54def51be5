{#- The time this dbt invocation started (UTC) as a timestamp literal: one "now" for every
    model of a run, so rules that compare with the present (future dates) and detection
    times agree across models. -#}
{% macro run_started_at_utc() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
