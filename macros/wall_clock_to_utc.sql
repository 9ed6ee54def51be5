{#- A wall-clock DATETIME (landed as a timestamp without time zone, as MySQL stores it) as a
    plain timestamp in UTC. The var mysql_datetime_time_zone names the zone the source
    application writes its DATETIMEs in (an IANA name; default UTC). TIMESTAMP columns are
    instants and go through to_utc instead. -#}
{% macro wall_clock_to_utc(expression) -%}
    {{ return(adapter.dispatch('wall_clock_to_utc', 'lakeshop')(expression, var('mysql_datetime_time_zone', 'UTC'))) }}
{%- endmacro %}

{% macro default__wall_clock_to_utc(expression, zone) -%}
    {%- set ts = dbt.type_timestamp() -%}
    {%- set wall_clock = 'cast(' ~ expression ~ ' as ' ~ ts ~ ')' -%}
    cast(({{ wall_clock }} at time zone '{{ zone }}') at time zone 'UTC'
        as {{ ts }})
{%- endmacro %}

{% macro duckdb__wall_clock_to_utc(expression, zone) -%}
    timezone('UTC', timezone('{{ zone }}', cast({{ expression }} as timestamp)))
{%- endmacro %}

{% macro redshift__wall_clock_to_utc(expression, zone) -%}
    convert_timezone('{{ zone }}', 'UTC', cast({{ expression }} as timestamp))
{%- endmacro %}

{% macro sqlserver__wall_clock_to_utc(expression, zone) -%}
    cast(switchoffset(cast({{ expression }} as datetime2(6)) at time zone '{{ zone }}', '+00:00') as datetime2(6))
{%- endmacro %}
