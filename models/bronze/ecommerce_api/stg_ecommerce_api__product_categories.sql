with

source as (

    select * from {{ source('ecommerce_api', 'product_categories') }}

),

renamed as (

    select
        -- ids
        cast(slug as {{ dbt.type_string() }}) as category_slug,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_record_id,

        -- text
        cast(name as {{ dbt.type_string() }}) as category_name,
        cast(url as {{ dbt.type_string() }}) as category_url,

        -- versions
        {{ dlt_scd2_columns() }}

    from source

)

select * from renamed
