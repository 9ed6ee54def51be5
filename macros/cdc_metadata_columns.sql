{#- The change-data-capture columns every CDC staging model carries, renamed and typed. -#}
{% macro cdc_metadata_columns() -%}
    cast(_cdc_op as {{ dbt.type_string() }}) as cdc_operation,
    cast(_cdc_seq as {{ dbt.type_string() }}) as cdc_seq,
    {{ lakeshop.to_utc('_cdc_committed_at') }} as cdc_committed_at,
    cast(_cdc_snapshot_id as {{ dbt.type_bigint() }}) as cdc_snapshot_id,
    cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id
{%- endmacro %}
