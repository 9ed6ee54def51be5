with

source as (

    select * from {{ source('mysql', 'addresses') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(address_id as {{ dbt.type_bigint() }}) as address_id,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,

        -- text (street and postal code are PII: reduced to city and country in silver)
        cast(line1 as {{ dbt.type_string() }}) as street_line,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(postal_code as {{ dbt.type_string() }}) as postal_code,
        cast(country as {{ dbt.type_string() }}) as country,

        -- booleans
        {{ as_boolean('is_default = 1') }} as is_default,

        -- timestamps
        {{ wall_clock_to_utc('created_at') }} as created_at,
        {{ wall_clock_to_utc('updated_at') }} as updated_at,

        -- change data capture
        {{ cdc_metadata_columns(source('mysql', 'addresses')) }}

    from source

)

select * from renamed
