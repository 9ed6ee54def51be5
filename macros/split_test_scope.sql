{#- The keys an is_split_exactly_into test checks, as SQL (a query of keys), or none for
    every key. When the model and every part declare `changed_rows` and the test has
    passed before (test_ledger), the keys that any of them wrote since: a key's place
    changes only where its row is written again, on the model's side (a new change) or a
    part's (re-validated), and every key written before was checked by a run that passed. -#}
{% macro split_test_scope(model, column_name, parts) %}
    {%- if not execute or not var('test_changed_rows_only', true) or var('offline_compile', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {#- this test's own node: `model` names the tested relation here -#}
    {%- set tests = graph.nodes.values() | selectattr('resource_type', 'equalto', 'test')
        | selectattr('alias', 'equalto', this.identifier) | list -%}
    {%- if tests | length != 1 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set test = tests[0] -%}
    {%- set stamped = [] -%}
    {%- set tested = graph.nodes.get(test.attached_node) -%}
    {%- do stamped.append((model, (tested.config.meta or {}).get('changed_rows') if tested else none)) -%}
    {%- for part in parts -%}
        {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
            | selectattr('name', 'equalto', part) | list -%}
        {%- do stamped.append((ref(part), (nodes[0].config.meta or {}).get('changed_rows') if nodes else none)) -%}
    {%- endfor -%}
    {%- for relation, spec in stamped if spec is none or spec.get('kind') == 'load_id' -%}
        {{ return(none) }}
    {%- endfor -%}
    {%- set found = run_query(
        "select max(passed_at) from " ~ lakeshop.test_ledger_relation()
        ~ " where test_id = '" ~ test.unique_id ~ "'"
    ) -%}
    {%- set passed_at = found.rows[0][0] if found.rows else none -%}
    {%- if passed_at is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set mark = "cast('" ~ passed_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as "
        ~ dbt.type_timestamp() ~ ")" -%}
    {%- set written = [] -%}
    {%- for relation, spec in stamped -%}
        {%- do written.append(
            'select ' ~ column_name ~ ' from ' ~ relation ~ ' where ' ~ spec.column ~ ' > ' ~ mark
        ) -%}
    {%- endfor -%}
    {{ return(written | join(' union ')) }}
{% endmacro %}
