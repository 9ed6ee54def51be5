{#- The condition that a latest change (from cdc_latest_changes) is a live row of the source
    table now: not a delete, and not older than the table's latest complete snapshot
    generation (a re-snapshot after TRUNCATE, a new primary key, a cascade delete or a purged
    binlog re-reads every live row, so a key whose latest change is older than that
    generation no longer exists). A generation still being read does not count yet: until it
    is done, the previous one holds. -#}
{% macro cdc_is_current(table_name, relation_alias='latest') -%}
    {{ relation_alias }}.cdc_operation != 'delete'
    and {{ relation_alias }}.cdc_seq >= (
        select coalesce(max(generations.start_seq), '')
        from {{ ref('stg_mysql__cdc_snapshots') }} as generations
        where generations.table_name = '{{ table_name }}'
            and generations.snapshot_status = 'done'
    )
{%- endmacro %}
