{#- Environments. The `prod` target writes the layer schemas exactly as named: bronze,
    silver, gold, seeds. Any other target writes them prefixed by its own schema
    (`dev_gold`, `ci_1234_gold`), so a developer's build and CI never overwrite prod or each
    other on a shared warehouse. The embedded DuckDB file is a warehouse of its own (one
    file per checkout, one writer at a time): its `duckdb` target counts as prod, so
    `unprefixed_schema_targets` lists both. dbt-sqlserver would name custom schemas
    differently: this macro makes every adapter follow the same rule. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- elif target.name in var('unprefixed_schema_targets', ['prod', 'duckdb']) -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema | trim }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
