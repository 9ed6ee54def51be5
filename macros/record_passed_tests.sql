{#- on-run-end: every test that passed in this invocation on a model that stamps its rows
    (`changed_rows`), or that scopes itself with keys_written_since (a singular test), gets
    this invocation's build stamp as its new mark (build_stamp). A test that failed,
    warned or did not run keeps its old mark, so the next build checks the rows it has not
    passed on yet. -#}
{% macro record_passed_tests(results) %}
    {%- if not execute or var('offline_compile', false) or flags.WHICH not in ['build', 'test'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set passed = [] -%}
    {%- for result in results
        if result.node.resource_type == 'test' and result.status == 'pass' -%}
        {%- set attached = graph.nodes.get(result.node.attached_node or '') -%}
        {%- if (attached and (attached.config.meta or {}).get('changed_rows'))
            or 'macro.lakeshop.keys_written_since' in result.node.depends_on.macros -%}
            {%- do passed.append(result.node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if passed -%}
        {%- set ledger = lakeshop.test_ledger_relation() -%}
        {%- set stamp = lakeshop.build_stamp() -%}
        {%- for chunk in passed | batch(200) -%}
            {%- do adapter.execute(
                'delete from ' ~ ledger ~ " where test_id in ('" ~ chunk | join("', '") ~ "')",
                auto_begin=true
            ) -%}
            {%- set rows = [] -%}
            {%- for test_id in chunk -%}
                {%- do rows.append(
                    "select '" ~ test_id ~ "', " ~ stamp ~ ", '"
                    ~ invocation_id ~ "'"
                ) -%}
            {%- endfor -%}
            {%- do adapter.execute(
                'insert into ' ~ ledger ~ ' (test_id, passed_at, invocation_id) '
                ~ rows | join(' union all '),
                auto_begin=true
            ) -%}
        {%- endfor -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
