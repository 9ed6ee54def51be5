{#- A salted SHA-256 of a normalized PII value (email, phone): stable for joins and counting
    distinct people, useless for contacting them. The salt is never written into the SQL:
    pii_salt() reads it from the session, where `lakeshop dbt` puts $LAKESHOP_PII_SALT (or
    the development salt), so it is in no compiled model, manifest or docs page, and no
    view definition in the warehouse. Models that mask are tables for the same reason. -#}
{% macro mask_pii(expression) -%}
    case
        when {{ expression }} is null then null
        else {{ lakeshop.sha256_hex(dbt.concat([pii_salt(), expression])) }}
    end
{%- endmacro %}
