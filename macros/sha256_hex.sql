{#- SHA-256 of a text expression as 64 lower-case hex characters, on every adapter. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'lakeshop')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro postgres__sha256_hex(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro redshift__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{% macro sqlserver__sha256_hex(expression) -%}
    lower(convert(varchar(64), hashbytes('SHA2_256', {{ expression }}), 2))
{%- endmacro %}
