with

source as (

    select * from {{ source('mysql', 'cdc_snapshots') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(table_name as {{ dbt.type_string() }}) as table_name,
        cast(snapshot_id as {{ dbt.type_bigint() }}) as snapshot_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as snapshot_event_id,

        -- text
        cast(status as {{ dbt.type_string() }}) as snapshot_status,
        cast(reason as {{ dbt.type_string() }}) as snapshot_reason,
        cast(start_seq as {{ dbt.type_string() }}) as start_seq,

        -- numerics
        cast({{ adapter.quote("rows") }} as {{ dbt.type_bigint() }})
            as row_count,

        -- timestamps
        {{ to_utc('recorded_at') }} as recorded_at,

        -- lineage
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        {{ landed_seq('_lakeshop_landed') }} as landed_seq

    from source

)

select * from renamed
