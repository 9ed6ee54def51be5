{#- When `test` last passed, as a timestamp constant for its SQL; none when every row is to
    be read (test_passed_at). -#}
{% macro test_mark(test) %}
    {%- set passed_at = lakeshop.test_passed_at(test) -%}
    {%- if passed_at is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(lakeshop.timestamp_literal(passed_at)) }}
{% endmacro %}
