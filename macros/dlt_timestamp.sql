{#- A timestamp column dlt landed (ISO 8601 text it parsed, with a time zone) as a plain UTC
    timestamp; a field the API never sent becomes a typed null. `column_names` comes from
    source_column_names(); when it is none (offline compile) the column is used as is. -#}
{% macro dlt_timestamp(column_name, column_names) -%}
    {%- if column_names is none or column_name in column_names -%}
        {{ lakeshop.to_utc(column_name) }}
    {%- else -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}
