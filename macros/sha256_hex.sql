{#- SHA-256 of a text expression's UTF-8 bytes as 64 lower-case hex characters, the same
    hash on every adapter (pytests/test_dbt_static.py checks each dialect's SQL). -#}
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

{#- hashbytes hashes the bytes it is given: an nvarchar's are UTF-16, a varchar's those of
    its collation's code page. Collated to UTF-8 (SQL Server 2019, Azure SQL) and cast to
    varchar, the text is its UTF-8 bytes, as everywhere else. -#}
{% macro sqlserver__sha256_hex(expression) -%}
    lower(convert(varchar(64), hashbytes('SHA2_256', cast(
        cast({{ expression }} as nvarchar(4000))
        collate Latin1_General_100_CI_AS_SC_UTF8 as varchar(8000)
    )), 2))
{%- endmacro %}
