{#- The PII salt, read from the database session at run time (never a literal):
    DuckDB: the variable lakeshop_pii_salt, set on every connection by the dbt-duckdb plugin
    lakeshop.dbt_pii_salt (profiles.yml.example); PostgreSQL: the setting lakeshop.pii_salt,
    which `lakeshop dbt` passes as PGOPTIONS. Redshift and SQL Server (compiled offline, not
    run here): a scalar UDF f_lakeshop_pii_salt() and the session context key
    lakeshop_pii_salt, which the warehouse's administrator provides. -#}
{% macro pii_salt() -%}
    {{ return(adapter.dispatch('pii_salt', 'lakeshop')()) }}
{%- endmacro %}

{% macro default__pii_salt() -%}
    current_setting('lakeshop.pii_salt')
{%- endmacro %}

{% macro duckdb__pii_salt() -%}
    getvariable('lakeshop_pii_salt')
{%- endmacro %}

{% macro redshift__pii_salt() -%}
    f_lakeshop_pii_salt()
{%- endmacro %}

{% macro sqlserver__pii_salt() -%}
    cast(session_context(N'lakeshop_pii_salt') as nvarchar(4000))
{%- endmacro %}
