{#- A boolean column from a condition. SQL Server has no boolean type: there it is a bit. -#}
{% macro as_boolean(condition) -%}
    {{ return(adapter.dispatch('as_boolean', 'lakeshop')(condition)) }}
{%- endmacro %}

{% macro default__as_boolean(condition) -%}
    (case when {{ condition }} then true else false end)
{%- endmacro %}

{% macro sqlserver__as_boolean(condition) -%}
    cast(case when {{ condition }} then 1 else 0 end as bit)
{%- endmacro %}
