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
        {{ dlt_column('description', dbt.type_string(), columns) }}
            as product_description,
        {{ dlt_column('warranty_information', dbt.type_string(), columns) }}
            as warranty_information,
        {{ dlt_column('shipping_information', dbt.type_string(), columns) }}
            as shipping_information,
        {{ dlt_column('return_policy', dbt.type_string(), columns) }}
            as return_policy,
        {{ dlt_column(
            'meta__barcode', dbt.type_string(), columns
        ) }} as barcode,
        {{ dlt_column('meta__qr_code', dbt.type_string(), columns) }}
            as qr_code_url,
        {{ dlt_column('thumbnail', dbt.type_string(), columns) }}
            as thumbnail_url,

        -- numerics
        {{ dlt_column('price', 'decimal(18, 2)', columns) }} as price,
        {{ dlt_column('discount_percentage', 'decimal(9, 2)', columns) }}
            as discount_percentage,
        {{ dlt_column('rating', 'decimal(4, 2)', columns) }} as rating,
        {{ dlt_column('stock', dbt.type_bigint(), columns) }} as stock_quantity,
        {{ dlt_column('minimum_order_quantity', dbt.type_bigint(), columns) }}
            as minimum_order_quantity,
        {{ dlt_column('weight', 'decimal(12, 3)', columns) }} as weight,
        {{ dlt_column(
            'dimensions__width', 'decimal(12, 3)', columns
        ) }} as width,
        {{ dlt_column(
            'dimensions__height', 'decimal(12, 3)', columns
        ) }} as height,
        {{ dlt_column(
            'dimensions__depth', 'decimal(12, 3)', columns
        ) }} as depth,

        -- timestamps
        {{ dlt_timestamp('meta__created_at', columns) }} as api_created_at,
        {{ dlt_timestamp('meta__updated_at', columns) }} as api_updated_at,

        -- versions
        {{ dlt_scd2_columns() }}

    from source

)

select * from renamed
