{#- dbt-duckdb does not override dbt.safe_cast, whose default is a plain cast that fails on
    bad input; DuckDB's try_cast returns null instead, like the other adapters' versions. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
