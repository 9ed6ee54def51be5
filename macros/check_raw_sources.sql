{#- Run before every dbt command (on-run-start): stops with a message naming the fix when a
    raw table that a selected model or test reads has not been landed yet, instead of a
    catalog error in whichever model happens to run first. Only the selection's sources are
    checked, so `--select` of one source's models needs only that source's raw tables.
    Skipped under the offline compile. -#}
{% macro check_raw_sources() %}
    {%- if not execute or var('offline_compile', false) or flags.WHICH not in ['run', 'build', 'test'] -%}
        {{ return('') }}
    {%- endif -%}
    {#- only the sources the selected nodes read: each source's models build alone -#}
    {%- set wanted = [] -%}
    {%- for unique_id in selected_resources -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- for parent in (node.depends_on.nodes if node else []) -%}
            {%- if parent.startswith('source.') and parent not in wanted -%}
                {%- do wanted.append(parent) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set missing = [] -%}
    {#- an optional source (meta optional: true) builds empty until landed: optional_source() -#}
    {%- for node in graph.sources.values() if node.unique_id in wanted and not node.source_meta.get('optional') -%}
        {%- set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.identifier
        ) -%}
        {%- if relation is none -%}
            {%- do missing.append(node.schema ~ '.' ~ node.identifier) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(
            'raw tables not found in the ' ~ target.name ~ ' warehouse: ' ~ (missing | join(', '))
            ~ '. Land them first: `lakeshop ingest mysql --to warehouse` and `lakeshop ingest api'
            ~ ' --to warehouse` (with the same LAKESHOP_WAREHOUSE / LAKESHOP_DUCKDB_PATH), or'
            ~ ' run `make demo`.'
        ) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
