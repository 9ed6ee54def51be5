{#- The highest landing number of the change logs when the build `test` last passed in began
    (audit.builds, build_stamp.sql), as a number constant (compared with `landed_number`,
    which reaches the scan); none when every row is to be read. A bronze CDC row numbered
    above it landed after that build's tests read the logs. -#}
{% macro test_landed_mark(test) %}
    {%- if not execute or not var('test_changed_rows_only', true)
        or var('offline_compile', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select max(builds.landed_through) from "
        ~ lakeshop.test_ledger_relation() ~ " as ledger inner join "
        ~ lakeshop.builds_relation() ~ " as builds"
        ~ " on builds.invocation_id = ledger.invocation_id"
        ~ " where ledger.test_id = '" ~ test.unique_id ~ "'"
    ) -%}
    {%- if not found.rows or found.rows[0][0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(found.rows[0][0] | int | string) }}
{% endmacro %}
