{#- A salted SHA-256 of a normalized PII value (email, phone): stable for joins and counting
    distinct people, useless for contacting them. The salt is the environment variable
    LAKESHOP_PII_SALT; without it a fixed development salt is used and dbt logs a warning. -#}
{% macro mask_pii(expression) -%}
    {%- set salt = env_var('LAKESHOP_PII_SALT', var('pii_dev_salt')) -%}
    case
        when {{ expression }} is null then null
        else {{ lakeshop.sha256_hex(dbt.concat(["'" ~ salt | replace("'", "''") ~ "'", expression])) }}
    end
{%- endmacro %}
