{#- The change-data-capture columns every CDC staging model carries, renamed and typed.
    `relation` (the source) is checked for the landing order column the ingestion adds
    (ingestion.destinations.stamp_landing_order): a change log landed by an older lakeshop
    has none until its next ingest run, and without it no incremental model can tell what
    it has read. -#}
{% macro cdc_metadata_columns(relation=none) -%}
    {%- set names = lakeshop.source_column_names(relation) if relation is not none else none -%}
    {%- if names is not none and '_lakeshop_landed' not in names -%}
        {{ exceptions.raise_compiler_error(
            relation ~ " has no _lakeshop_landed column (landed by an older lakeshop): run "
            ~ "`lakeshop ingest mysql` once, which numbers what has landed, then build again"
        ) }}
    {%- endif -%}
    cast(_cdc_op as {{ dbt.type_string() }}) as cdc_operation,
    cast(_cdc_seq as {{ dbt.type_string() }}) as cdc_seq,
    {{ lakeshop.to_utc('_cdc_committed_at') }} as cdc_committed_at,
    cast(_cdc_snapshot_id as {{ dbt.type_bigint() }}) as cdc_snapshot_id,
    cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
    {{ lakeshop.landed_seq('_lakeshop_landed') }} as landed_seq,
    {#- the same number as a number: what the deduplicating models filter on, which reaches
        the scan (DuckDB skips the row groups landed before; text made from it cannot) -#}
    cast(_lakeshop_landed as {{ dbt.type_bigint() }}) as landed_number
{%- endmacro %}

{#- The names of the columns cdc_metadata_columns makes, for a select list that names its
    columns (cdc_latest_changes' `columns`). -#}
{% macro cdc_column_names() -%}
    cdc_operation, cdc_seq, cdc_committed_at, cdc_snapshot_id, dlt_load_id, landed_seq, landed_number
{%- endmacro %}
