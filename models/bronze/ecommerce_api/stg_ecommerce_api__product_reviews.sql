{%- set columns = source_column_names(
    source('ecommerce_api', 'products__reviews')
) -%}

with

source as (

    select * from {{ source('ecommerce_api', 'products__reviews') }}

),

renamed as (

    select
        -- ids
        cast(_dlt_id as {{ dbt.type_string() }}) as product_review_id,
        cast(_dlt_parent_id as {{ dbt.type_string() }}) as parent_record_id,
        cast(_dlt_list_idx as {{ dbt.type_int() }}) as list_index,

        -- text (reviewer name and email are PII: not carried past bronze)
        {{ dlt_column('comment', dbt.type_string(), columns) }}
            as review_comment,
        {{ dlt_column('reviewer_name', dbt.type_string(), columns) }}
            as reviewer_name,
        {{ dlt_column('reviewer_email', dbt.type_string(), columns) }}
            as reviewer_email,

        -- numerics
        {{ dlt_column('rating', dbt.type_int(), columns) }} as rating,

        -- timestamps
        {{ to_utc(adapter.quote('date')) }} as reviewed_at

    from source

)

select * from renamed
