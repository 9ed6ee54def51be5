{%- set columns = source_column_names(source('ecommerce_api', 'users')) -%}

with

source as (

    select * from {{ source('ecommerce_api', 'users') }}

),

renamed as (

    select
        -- ids
        {{ dlt_column('id', dbt.type_bigint(), columns) }} as user_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_record_id,

        -- personal data (raw PII: masked in silver, never beyond it)
        {{ dlt_column('email', dbt.type_string(), columns) }} as email,
        {{ dlt_column('phone', dbt.type_string(), columns) }} as phone,
        {{ dlt_column('username', dbt.type_string(), columns) }} as username,
        {{ dlt_column('first_name', dbt.type_string(), columns) }}
            as first_name,
        {{ dlt_column('last_name', dbt.type_string(), columns) }} as last_name,
        {{ dlt_column('birth_date', dbt.type_string(), columns) }}
            as birth_date_text,
        {{ dlt_column('address__city', dbt.type_string(), columns) }} as city,
        {{ dlt_column('address__country', dbt.type_string(), columns) }}
            as country,

        -- text
        {{ dlt_column('gender', dbt.type_string(), columns) }} as gender,
        {{ dlt_column('role', dbt.type_string(), columns) }} as user_role,

        -- numerics
        {{ dlt_column('age', dbt.type_int(), columns) }} as age,

        -- versions
        {{ dlt_scd2_columns() }}

    from source

)

select * from renamed
