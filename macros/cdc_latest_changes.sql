{#- The latest change per primary key from a CDC staging model, deletes included (they are
    the soft-delete record). Built incrementally: a run reads only changes with a `cdc_seq`
    above the highest one already processed, and replaces those keys (delete+insert, which
    DuckDB, PostgreSQL, Redshift and SQL Server all support). A change loaded twice (same
    `cdc_seq`, dlt's at-least-once loads) collapses into one row. Because the latest change
    per key does not depend on how the log is cut into runs, a full refresh gives the same
    table. -#}
{% macro cdc_latest_changes(staging_model, key_column) -%}
with

changes as (

    select * from {{ ref(staging_model) }}
    {%- if is_incremental() %}
    where cdc_seq > (select coalesce(max(cdc_seq), '') from {{ this }})
    {%- endif %}

),

latest_sequence as (

    select
        {{ key_column }},
        max(cdc_seq) as cdc_seq
    from changes
    group by {{ key_column }}

),

latest_change as (

    select distinct changes.*
    from changes
    inner join latest_sequence
        on
            changes.{{ key_column }} = latest_sequence.{{ key_column }}
            and changes.cdc_seq = latest_sequence.cdc_seq

),

final as (

    select
        latest_change.*,
        {{ lakeshop.as_boolean("latest_change.cdc_operation = 'delete'") }} as is_deleted
    from latest_change

)

select * from final
{%- endmacro %}
