{#- Layer schemas are named exactly bronze, silver, gold and seeds on every adapter
    (dbt's default would prefix them with the target schema, and dbt-sqlserver differs). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
