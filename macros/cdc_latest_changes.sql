{#- The latest change per primary key from a CDC staging model, deletes included (they are
    the soft-delete record): the change with the highest `cdc_seq`. A change loaded twice
    (same `cdc_seq`, dlt's at-least-once loads, in one load package or in two) collapses into
    one row, the copy of the first load package.

    Built incrementally: a run reads the changes that landed since the last one (by
    `landed_seq`, the order the warehouse numbered them in, never by `cdc_seq`: a change can
    land after one with a higher sequence, from a replayed or half-landed package, a
    re-snapshot or a new primary). A key is written again only when what landed beats the
    row kept for it (a higher `cdc_seq`, or the same change from an earlier package), so a
    late change never overwrites a newer one. The latest change per key does not depend on
    how the log is cut into runs or in what order it landed: a full refresh gives the same
    table but for `built_at`, when the build that wrote the row started. `columns` (SQL, a
    select list over the staging model, the CDC columns among them) replaces `*`: what is
    read and kept, e.g. personal data masked as it leaves bronze. -#}
{% macro cdc_latest_changes(staging_model, key_column, columns='*') -%}
with

changes as (

    select {{ columns }} from {{ ref(staging_model) }}
    {%- if is_incremental() %}
    where landed_number > {{ lakeshop.previous_landed('landed_number', number=true) }}
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

winning as (

    select first_load.*
    from first_load
    {%- if is_incremental() %}
    -- what landed beats what an earlier run kept for the key (or nothing was kept)
    left join {{ this }} as kept
        on first_load.{{ key_column }} = kept.{{ key_column }}
    where
        kept.{{ key_column }} is null
        or first_load.cdc_seq > kept.cdc_seq
        or (
            first_load.cdc_seq = kept.cdc_seq
            and first_load.dlt_load_id < coalesce(kept.dlt_load_id, '')
        )
    {%- endif %}

),

first_copy as (

    -- one load's copies of one change (a retried load job) are the same row but for the
    -- number each landed under: the first copy stands for them
    select
        changes.{{ key_column }},
        min(changes.landed_number) as landed_number
    from changes
    inner join winning
        on
            changes.{{ key_column }} = winning.{{ key_column }}
            and changes.cdc_seq = winning.cdc_seq
            and coalesce(changes.dlt_load_id, '') = winning.dlt_load_id
    group by changes.{{ key_column }}

),

latest_change as (

    select changes.*
    from changes
    inner join first_copy
        on
            changes.{{ key_column }} = first_copy.{{ key_column }}
            and changes.landed_number = first_copy.landed_number

),

final as (

    select
        latest_change.*,
        {{ lakeshop.as_boolean("latest_change.cdc_operation = 'delete'") }} as is_deleted,
        {{ lakeshop.build_stamp() }} as built_at
    from latest_change

)

select * from final
{%- endmacro %}
