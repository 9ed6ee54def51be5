{%- set columns = source_column_names(source('ecommerce_api', 'products')) -%}

with

source as (

    select * from {{ source('ecommerce_api', 'products') }}

),

renamed as (

    select
        -- ids
        {{ dlt_column('id', dbt.type_bigint(), columns) }} as product_id,
        {{ dlt_column('sku', dbt.type_string(), columns) }} as sku,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_record_id,

        -- text
        {{ dlt_column('title', dbt.type_string(), columns) }} as product_title,
        {{ dlt_column('category', dbt.type_string(), columns) }}
            as category_slug,
        {{ dlt_column('brand', dbt.type_string(), columns) }} as brand,
        {{ dlt_column('availability_status', dbt.type_string(), columns) }}
            as availability_status,

        -- numerics
        {{ dlt_column('price', 'decimal(18, 2)', columns) }} as price,
        {{ dlt_column('discount_percentage', 'decimal(9, 2)', columns) }}
            as discount_percentage,
        {{ dlt_column('rating', 'decimal(4, 2)', columns) }} as rating,
        {{ dlt_column('stock', dbt.type_bigint(), columns) }} as stock_quantity,
        {{ dlt_column('minimum_order_quantity', dbt.type_bigint(), columns) }}
            as minimum_order_quantity,

        -- versions
        {{ dlt_scd2_columns() }}

    from source

)

select * from renamed
