{#- Run before every dbt command (on-run-start): stops with the fix when the session has no
    PII salt (plain `dbt` with an old profiles.yml, or without PGOPTIONS), instead of
    building null hashes. Only DuckDB and PostgreSQL are asked; skipped offline. -#}
{% macro check_pii_salt() %}
    {%- if not execute or var('offline_compile', false) or flags.WHICH not in ['run', 'build', 'test'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- if target.type == 'duckdb' -%}
        {%- set probe = "select getvariable('lakeshop_pii_salt')" -%}
    {%- elif target.type == 'postgres' -%}
        {%- set probe = "select current_setting('lakeshop.pii_salt', true)" -%}
    {%- else -%}
        {{ return('') }}
    {%- endif -%}
    {%- set salt = run_query(probe).columns[0].values()[0] -%}
    {%- if not salt -%}
        {{ exceptions.raise_compiler_error(
            'no PII salt in the ' ~ target.name ~ ' session: run dbt through `lakeshop dbt` or'
            ~ ' `lakeshop build` (they set it from LAKESHOP_PII_SALT), or, for plain dbt, add'
            ~ ' the lakeshop.dbt_pii_salt plugin to the duckdb target of profiles.yml (see'
            ~ ' profiles.yml.example) / set PGOPTIONS="-c lakeshop.pii_salt=..." for postgres.'
        ) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
