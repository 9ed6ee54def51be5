{#- A condition that a boolean column (as made by as_boolean) is true, on every adapter. -#}
{% macro is_true(column) -%}
    {{ return(adapter.dispatch('is_true', 'lakeshop')(column)) }}
{%- endmacro %}

{% macro default__is_true(column) -%}
    {{ column }} = true
{%- endmacro %}

{% macro sqlserver__is_true(column) -%}
    {{ column }} = 1
{%- endmacro %}
