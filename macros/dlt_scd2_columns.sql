{#- The version columns of a dlt scd2 root table, renamed and typed: the content hash that
    keys versions, validity in UTC, whether this is the current version, the load package. -#}
{% macro dlt_scd2_columns() -%}
    cast(_content_hash as {{ dbt.type_string() }}) as content_hash,
    {{ lakeshop.to_utc('_dlt_valid_from') }} as valid_from,
    {{ lakeshop.to_utc('_dlt_valid_to') }} as valid_to,
    {{ lakeshop.as_boolean('_dlt_valid_to is null') }} as is_current_version,
    cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id
{%- endmacro %}
