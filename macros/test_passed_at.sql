{#- When `test` last passed (test_ledger), a datetime; none when every row is to be read
    (it has not passed since the ledger was reset, `test_changed_rows_only` is off, or
    nothing is executed). -#}
{% macro test_passed_at(test) %}
    {%- if not execute or not var('test_changed_rows_only', true) or var('offline_compile', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select max(passed_at) from " ~ lakeshop.test_ledger_relation()
        ~ " where test_id = '" ~ test.unique_id ~ "'"
    ) -%}
    {{ return(found.rows[0][0] if found.rows else none) }}
{% endmacro %}
