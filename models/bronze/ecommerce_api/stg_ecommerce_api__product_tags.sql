with

source as (

    select * from {{ source('ecommerce_api', 'products__tags') }}

),

renamed as (

    select
        -- ids
        cast(_dlt_id as {{ dbt.type_string() }}) as product_tag_id,
        cast(_dlt_parent_id as {{ dbt.type_string() }}) as parent_record_id,
        cast(_dlt_list_idx as {{ dbt.type_int() }}) as list_index,

        -- text (sqlfluff's redshift dialect parses `tag` as a keyword: noqa)
        cast(value as {{ dbt.type_string() }}) as tag  -- noqa: PRS, LT02

    from source

)

select * from renamed
