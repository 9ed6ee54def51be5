{#- on-run-start (build and test): the ledger exists before any test reads it, and holds
    no mark made by another version of the project. A row `(project)` keeps the version the
    marks were made under: every node's checksum and config, and the invocation's vars. A
    row `(files)` keeps lakeshop's fingerprint of every project file, macros and
    dbt_project.yml included (`lakeshop_project_fingerprint`, which `lakeshop build` and
    the Dagster runs pass; dbt's graph does not show macros): it counts only when the
    invocation brings one. When either differs, every mark is dropped and each test reads
    every row once: a changed view or rule can make old rows fail without writing them
    again. -#}
{% macro prepare_test_ledger() %}
    {%- if not execute or var('offline_compile', false) or flags.WHICH not in ['build', 'test'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set ledger = lakeshop.test_ledger_relation() -%}
    {%- if adapter.get_relation(ledger.database, ledger.schema, ledger.identifier) is none -%}
        {%- do adapter.create_schema(ledger) -%}
        {%- do adapter.execute(
            'create table ' ~ ledger ~ ' (test_id ' ~ dbt.type_string() ~ ', passed_at '
            ~ dbt.type_timestamp() ~ ', invocation_id ' ~ dbt.type_string() ~ ')',
            auto_begin=true
        ) -%}
    {%- endif -%}
    {#- the vars of this invocation, but lakeshop's own two -#}
    {%- set given = invocation_args_dict.get('vars') or {} -%}
    {%- set parts = [] -%}
    {%- for key in (given if given is mapping else []) | sort -%}
        {%- if key not in ['test_changed_rows_only', 'lakeshop_project_fingerprint'] -%}
            {%- do parts.append(key ~ '=' ~ (given[key] | tojson)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if given is string -%}
        {%- do parts.append(given) -%}
    {%- endif -%}
    {%- for unique_id, node in graph.nodes.items() | sort -%}
        {%- do parts.append(unique_id ~ ' ' ~ node.checksum.checksum ~ ' ' ~ node.config | tojson) -%}
    {%- endfor -%}
    {%- set version = local_md5(parts | join('\n')) -%}
    {#- every project file, from lakeshop: compared only when this invocation brings one, so a
        plain dbt build beside lakeshop's does not drop the marks -#}
    {%- set files = var('lakeshop_project_fingerprint', '') -%}
    {%- set stored = run_query(
        "select test_id, invocation_id from " ~ ledger
        ~ " where test_id in ('(project)', '(files)')"
    ) -%}
    {%- set known = {} -%}
    {%- for row in stored.rows -%}
        {%- do known.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set other_files = files and known.get('(files)') and known.get('(files)') != files -%}
    {%- set writes = {} -%}
    {%- if known.get('(project)') != version or other_files -%}
        {%- do adapter.execute('delete from ' ~ ledger, auto_begin=true) -%}
        {%- do writes.update({'(project)': version}) -%}
    {%- endif -%}
    {%- if files and known.get('(files)') != files -%}
        {%- do writes.update({'(files)': files}) -%}
    {%- endif -%}
    {%- for marker, value in writes.items() -%}
        {%- do adapter.execute(
            'delete from ' ~ ledger ~ " where test_id = '" ~ marker ~ "'", auto_begin=true
        ) -%}
        {%- do adapter.execute(
            'insert into ' ~ ledger ~ " (test_id, passed_at, invocation_id) select '" ~ marker
            ~ "', " ~ lakeshop.run_started_at_utc() ~ ", '" ~ value ~ "'",
            auto_begin=true
        ) -%}
    {%- endfor -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}
