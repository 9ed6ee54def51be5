{#- A timestamp-with-time-zone (as dlt lands them) as a plain timestamp in UTC, independent
    of the session's time zone. -#}
{% macro to_utc(expression) -%}
    {{ return(adapter.dispatch('to_utc', 'lakeshop')(expression)) }}
{%- endmacro %}

{% macro default__to_utc(expression) -%}
    cast({{ expression }} at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__to_utc(expression) -%}
    timezone('UTC', cast({{ expression }} as timestamptz))
{%- endmacro %}

{% macro redshift__to_utc(expression) -%}
    convert_timezone('UTC', {{ expression }})
{%- endmacro %}

{% macro sqlserver__to_utc(expression) -%}
    cast(switchoffset(cast({{ expression }} as datetimeoffset), '+00:00') as datetime2(6))
{%- endmacro %}
