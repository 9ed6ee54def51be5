with

source as (

    select * from {{ source('mysql', 'customers') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,

        -- personal data (raw PII: masked in silver, never beyond it)
        cast(email as {{ dbt.type_string() }}) as email,
        cast(phone as {{ dbt.type_string() }}) as phone,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(birth_date as date) as birth_date,

        -- booleans
        {{ as_boolean('marketing_opt_in = 1') }} as has_marketing_opt_in,

        -- timestamps
        {{ wall_clock_to_utc('created_at') }} as created_at,
        {{ wall_clock_to_utc('updated_at') }} as updated_at,

        -- change data capture
        {{ cdc_metadata_columns(source('mysql', 'customers')) }}

    from source

)

select * from renamed
