{#- In an incremental run, an aggregate over what the model built before (`max(cdc_seq)`),
    read when the model is compiled and written into its SQL as a constant: a filter on a
    constant reaches the scan, where a warehouse skips what it need not read (DuckDB whole
    row groups, by their min/max); the same value as a scalar subquery was joined in after
    the scans. `default` (SQL) stands in when the table is empty. In a unit test `this` is
    a fixture, not a table, and an offline compile has no warehouse to ask: there the
    subquery itself is written, so the SQL is the same but for where the value is read. -#}
{% macro previous_value(expression, default) %}
    {%- set subquery = '(select coalesce(' ~ expression ~ ', ' ~ default ~ ') from ' ~ this ~ ')' -%}
    {%- if not execute or var('offline_compile', false) or (this | string).startswith('__dbt__cte__') -%}
        {{ return(subquery) }}
    {%- endif -%}
    {%- set value = run_query('select ' ~ expression ~ ' from ' ~ this).rows[0][0] -%}
    {%- if value is none -%}
        {{ return(default) }}
    {%- elif value is string -%}
        {{ return("'" ~ value | replace("'", "''") ~ "'") }}
    {%- elif value.strftime is defined and value.hour is defined -%}
        {{ return(lakeshop.timestamp_literal(value)) }}
    {%- elif value.strftime is defined -%}
        {{ return("cast('" ~ value.strftime('%Y-%m-%d') ~ "' as date)") }}
    {%- endif -%}
    {{ return(value | string) }}
{% endmacro %}
