with

source as (

    select * from {{ source('ecommerce_api', 'products__images') }}

),

renamed as (

    select
        -- ids
        cast(_dlt_id as {{ dbt.type_string() }}) as product_image_id,
        cast(_dlt_parent_id as {{ dbt.type_string() }}) as parent_record_id,
        cast(_dlt_list_idx as {{ dbt.type_int() }}) as list_index,

        -- text
        cast(value as {{ dbt.type_string() }}) as image_url

    from source

)

select * from renamed
