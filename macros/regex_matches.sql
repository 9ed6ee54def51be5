{#- True where a text expression matches a POSIX-style regular expression. SQL Server has no
    regular expressions before 2025; there a LIKE pattern given as `like_pattern` is used. -#}
{% macro regex_matches(expression, pattern, like_pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'lakeshop')(expression, pattern, like_pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern, like_pattern) -%}
    {{ expression }} ~ '{{ pattern }}'
{%- endmacro %}

{% macro duckdb__regex_matches(expression, pattern, like_pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro sqlserver__regex_matches(expression, pattern, like_pattern) -%}
    {{ expression }} like '{{ like_pattern }}'
{%- endmacro %}
