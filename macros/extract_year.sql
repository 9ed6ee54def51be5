{#- The calendar year of a date or timestamp, as an integer, on every adapter. -#}
{% macro extract_year(expression) -%}
    {{ return(adapter.dispatch('extract_year', 'lakeshop')(expression)) }}
{%- endmacro %}

{% macro default__extract_year(expression) -%}
    cast(extract(year from {{ expression }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro sqlserver__extract_year(expression) -%}
    cast(datepart(year, {{ expression }}) as {{ dbt.type_int() }})
{%- endmacro %}
