{%- set columns = source_column_names(
    source('ecommerce_api', 'carts__products')
) -%}

with

source as (

    select * from {{ source('ecommerce_api', 'carts__products') }}

),

renamed as (

    select
        -- ids
        cast(_dlt_id as {{ dbt.type_string() }}) as cart_product_id,
        cast(_dlt_parent_id as {{ dbt.type_string() }}) as parent_record_id,
        cast(_dlt_list_idx as {{ dbt.type_int() }}) as list_index,
        {{ dlt_column('id', dbt.type_bigint(), columns) }} as product_id,

        -- text
        {{ dlt_column('title', dbt.type_string(), columns) }} as product_title,
        {{ dlt_column('thumbnail', dbt.type_string(), columns) }}
            as thumbnail_url,

        -- numerics
        {{ dlt_column('price', 'decimal(18, 2)', columns) }} as unit_price,
        {{ dlt_column('quantity', dbt.type_int(), columns) }} as quantity,
        {{ dlt_column('total', 'decimal(18, 2)', columns) }} as line_amount,
        {{ dlt_column('discount_percentage', 'decimal(9, 2)', columns) }}
            as discount_percentage,
        {{ dlt_column('discounted_total', 'decimal(18, 2)', columns) }}
            as discounted_line_amount

    from source

)

select * from renamed
