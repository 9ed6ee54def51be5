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
        cast(_content_hash as {{ dbt.type_string() }}) as content_hash,
        {{ to_utc('_dlt_valid_from') }} as valid_from,
        {{ to_utc('_dlt_valid_to') }} as valid_to,
        {{ as_boolean('_dlt_valid_to is null') }} as is_current_version,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id

    from source

)

select * from renamed
