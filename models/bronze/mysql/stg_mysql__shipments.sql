with

source as (

    select * from {{ source('mysql', 'shipments') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(shipment_id as {{ dbt.type_bigint() }}) as shipment_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(tracking_number as {{ dbt.type_string() }}) as tracking_number,

        -- text
        cast(carrier as {{ dbt.type_string() }}) as carrier,
        cast(status as {{ dbt.type_string() }}) as shipment_status,

        -- timestamps
        {{ wall_clock_to_utc('shipped_at') }} as shipped_at,
        {{ wall_clock_to_utc('delivered_at') }} as delivered_at,
        {{ wall_clock_to_utc('created_at') }} as created_at,
        {{ wall_clock_to_utc('updated_at') }} as updated_at,

        -- change data capture
        {{ cdc_metadata_columns(source('mysql', 'shipments')) }}

    from source

)

select * from renamed
