{#- The latest change per primary key from a CDC staging model, deletes included (they are
    the soft-delete record). Built incrementally: a run reads only changes with a `cdc_seq`
    above the highest one already processed, and replaces those keys (delete+insert, which
    DuckDB, PostgreSQL, Redshift and SQL Server all support). A change loaded twice (same
    `cdc_seq`, dlt's at-least-once loads, in the same load package or in two) collapses into
    one row: the copy from the first load package, whose rows are the same row. Because the latest change
    per key does not depend on how the log is cut into runs, a full refresh gives the same
    table, but for `built_at`: when the build that wrote the row started (tests read only the
    rows written since they last passed: changed_rows_filter). -#}
{% macro cdc_latest_changes(staging_model, key_column) -%}
with

changes as (

    select * from {{ ref(staging_model) }}
    {%- if is_incremental() %}
    where cdc_seq > {{ lakeshop.previous_value('max(cdc_seq)', "''") }}
    {%- endif %}

),

latest_sequence as (

    select
        {{ key_column }},
        max(cdc_seq) as cdc_seq
    from changes
    group by {{ key_column }}

),

first_load as (

    select
        changes.{{ key_column }},
        changes.cdc_seq,
        min(coalesce(changes.dlt_load_id, '')) as dlt_load_id
    from changes
    inner join latest_sequence
        on
            changes.{{ key_column }} = latest_sequence.{{ key_column }}
            and changes.cdc_seq = latest_sequence.cdc_seq
    group by changes.{{ key_column }}, changes.cdc_seq

),

latest_change as (

    -- one load's copies of one change are the same row: distinct folds a retried job
    select distinct changes.*
    from changes
    inner join first_load
        on
            changes.{{ key_column }} = first_load.{{ key_column }}
            and changes.cdc_seq = first_load.cdc_seq
            and coalesce(changes.dlt_load_id, '') = first_load.dlt_load_id

),

final as (

    select
        latest_change.*,
        {{ lakeshop.as_boolean("latest_change.cdc_operation = 'delete'") }} as is_deleted,
        {{ lakeshop.run_started_at_utc() }} as built_at
    from latest_change

)

select * from final
{%- endmacro %}
