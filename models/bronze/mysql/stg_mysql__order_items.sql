with

source as (

    select * from {{ source('mysql', 'order_items') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(order_item_id as {{ dbt.type_bigint() }}) as order_item_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,

        -- numerics
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(discount_amount as decimal(18, 2)) as discount_amount,

        -- timestamps
        {{ wall_clock_to_utc('created_at') }} as created_at,
        {{ wall_clock_to_utc('updated_at') }} as updated_at,

        -- change data capture
        {{ cdc_metadata_columns(source('mysql', 'order_items')) }}

    from source

)

select * from renamed
