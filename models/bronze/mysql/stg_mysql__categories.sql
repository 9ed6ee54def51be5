with

source as (

    select * from {{ source('mysql', 'categories') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(category_id as {{ dbt.type_bigint() }}) as category_id,

        -- text
        cast(slug as {{ dbt.type_string() }}) as category_slug,
        cast(name as {{ dbt.type_string() }}) as category_name,

        -- timestamps
        {{ wall_clock_to_utc('created_at') }} as created_at,
        {{ wall_clock_to_utc('updated_at') }} as updated_at,

        -- change data capture
        {{ cdc_metadata_columns(source('mysql', 'categories')) }}

    from source

)

select * from renamed
