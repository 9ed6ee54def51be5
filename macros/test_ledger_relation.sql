{#- The test ledger: when each test last passed (the start of the dbt invocation it passed
    in). A test scoped to changed rows (changed_rows_filter) reads only the rows its model
    wrote after that moment; every row written before was checked by a run that passed. One
    row per test, in the `audit` layer schema of the target (prefixed like every layer on
    targets other than prod). -#}
{% macro test_ledger_relation() %}
    {%- set relation = api.Relation.create(
        database=target.database,
        schema=generate_schema_name('audit', none),
        identifier='test_ledger',
    ) -%}
    {{ return(relation) }}
{% endmacro %}
