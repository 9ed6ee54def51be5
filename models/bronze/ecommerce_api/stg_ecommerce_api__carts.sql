{%- set columns = source_column_names(source('ecommerce_api', 'carts')) -%}

with

source as (

    select * from {{ source('ecommerce_api', 'carts') }}

),

renamed as (

    select
        -- ids
        {{ dlt_column('id', dbt.type_bigint(), columns) }} as cart_id,
        {{ dlt_column('user_id', dbt.type_bigint(), columns) }} as user_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_record_id,

        -- numerics
        {{ dlt_column('total', 'decimal(18, 2)', columns) }} as total_amount,
        {{ dlt_column('discounted_total', 'decimal(18, 2)', columns) }}
            as discounted_total_amount,
        {{ dlt_column('total_products', dbt.type_int(), columns) }}
            as product_count,
        {{ dlt_column('total_quantity', dbt.type_int(), columns) }}
            as total_quantity,

        -- versions
        {{ dlt_scd2_columns() }}

    from source

)

select * from renamed
