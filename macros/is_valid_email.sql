{#- True where a lower-cased text is an email address by one rule on every warehouse: a local
    part of letters, digits and ._%+-, one @, then dot-separated labels of letters, digits
    and -, the last of two or more letters. SQL Server (before 2025) has no regular
    expressions: the same rule there is LIKE character classes on the parts around the @;
    pytests/test_dbt_static.py checks both forms agree on a list of addresses. -#}
{% macro is_valid_email(expression) -%}
    {{ return(adapter.dispatch('is_valid_email', 'lakeshop')(expression)) }}
{%- endmacro %}

{% macro default__is_valid_email(expression) -%}
    {{ lakeshop.regex_matches(
        expression, '^[a-z0-9._%+-]+@[a-z0-9-]+(\\.[a-z0-9-]+)*\\.[a-z]{2,}$', none
    ) }}
{%- endmacro %}

{% macro sqlserver__is_valid_email(expression) -%}
    {#- LEFT and RIGHT fail on a negative length, and T-SQL may evaluate any operand of an
        AND: each cut is guarded by a CASE on the character being there -#}
    {%- set at = "charindex('@', " ~ expression ~ ")" -%}
    {%- set dot = "charindex('.', reverse(" ~ expression ~ "))" -%}
    {%- set local = "case when " ~ at ~ " > 0 then left(" ~ expression ~ ", " ~ at
        ~ " - 1) else '' end" -%}
    {%- set domain = "case when " ~ at ~ " > 0 then substring(" ~ expression ~ ", " ~ at
        ~ " + 1, 8000) else '' end" -%}
    {%- set tld = "case when " ~ dot ~ " > 0 then right(" ~ expression ~ ", " ~ dot
        ~ " - 1) else '' end" -%}
    (
        {{ expression }} like '_%@_%._%'
        and {{ expression }} not like '%@%@%'
        and {{ local }} not like '%[^a-z0-9._%+-]%'
        and {{ domain }} not like '%[^a-z0-9.-]%'
        and {{ domain }} not like '.%'
        and {{ domain }} not like '%..%'
        and len({{ tld }}) >= 2
        and {{ tld }} not like '%[^a-z]%'
    )
{%- endmacro %}
