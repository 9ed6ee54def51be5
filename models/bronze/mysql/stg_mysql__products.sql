with

source as (

    select * from {{ source('mysql', 'products') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,
        cast(category_id as {{ dbt.type_bigint() }}) as category_id,
        cast(sku as {{ dbt.type_string() }}) as sku,

        -- text
        cast(title as {{ dbt.type_string() }}) as product_title,
        cast(brand as {{ dbt.type_string() }}) as brand,

        -- numerics
        cast(price as decimal(18, 2)) as price,
        cast(cost as decimal(18, 2)) as cost,

        -- booleans
        {{ as_boolean('is_active = 1') }} as is_active,

        -- timestamps
        {{ wall_clock_to_utc('created_at') }} as created_at,
        {{ wall_clock_to_utc('updated_at') }} as updated_at,

        -- change data capture
        {{ cdc_metadata_columns(source('mysql', 'products')) }}

    from source

)

select * from renamed
