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
        {{ dlt_column('maiden_name', dbt.type_string(), columns) }}
            as maiden_name,
        {{ dlt_column('address__address', dbt.type_string(), columns) }}
            as street_address,
        {{ dlt_column('address__state', dbt.type_string(), columns) }} as state,
        {{ dlt_column('address__state_code', dbt.type_string(), columns) }}
            as state_code,
        {{ dlt_column('address__postal_code', dbt.type_string(), columns) }}
            as postal_code,
        {{ dlt_column('address__coordinates__lat', 'decimal(9, 6)', columns) }}
            as latitude,
        {{ dlt_column('address__coordinates__lng', 'decimal(9, 6)', columns) }}
            as longitude,
        {{ dlt_column('image', dbt.type_string(), columns) }} as image_url,
        {{ dlt_column('user_agent', dbt.type_string(), columns) }}
            as user_agent,
        {{ dlt_column('bank__card_expire', dbt.type_string(), columns) }}
            as card_expiry,

        -- identifiers hashed at ingestion (salted SHA-256; the raw values never land)
        {{ dlt_column('ssn', dbt.type_string(), columns) }} as ssn_hash,
        {{ dlt_column('ein', dbt.type_string(), columns) }} as ein_hash,
        {{ dlt_column('ip', dbt.type_string(), columns) }} as ip_address_hash,
        {{ dlt_column('mac_address', dbt.type_string(), columns) }}
            as mac_address_hash,
        {{ dlt_column('bank__card_number', dbt.type_string(), columns) }}
            as card_number_hash,
        {{ dlt_column('bank__iban', dbt.type_string(), columns) }} as iban_hash,
        {{ dlt_column('crypto__wallet', dbt.type_string(), columns) }}
            as crypto_wallet_hash,

        -- text
        {{ dlt_column('gender', dbt.type_string(), columns) }} as gender,
        {{ dlt_column('role', dbt.type_string(), columns) }} as user_role,
        {{ dlt_column('blood_group', dbt.type_string(), columns) }}
            as blood_group,
        {{ dlt_column('eye_color', dbt.type_string(), columns) }} as eye_color,
        {{ dlt_column('hair__color', dbt.type_string(), columns) }}
            as hair_color,
        {{ dlt_column('hair__type', dbt.type_string(), columns) }} as hair_type,
        {{ dlt_column('university', dbt.type_string(), columns) }}
            as university,
        {{ dlt_column('bank__card_type', dbt.type_string(), columns) }}
            as card_type,
        {{ dlt_column('bank__currency', dbt.type_string(), columns) }}
            as currency_code,
        {{ dlt_column('crypto__coin', dbt.type_string(), columns) }}
            as crypto_coin,
        {{ dlt_column('crypto__network', dbt.type_string(), columns) }}
            as crypto_network,
        {{ dlt_column('company__name', dbt.type_string(), columns) }}
            as company_name,
        {{ dlt_column('company__department', dbt.type_string(), columns) }}
            as company_department,
        {{ dlt_column('company__title', dbt.type_string(), columns) }}
            as job_title,
        {{ dlt_column(
            'company__address__address', dbt.type_string(), columns
        ) }}
            as company_street_address,
        {{ dlt_column('company__address__city', dbt.type_string(), columns) }}
            as company_city,
        {{ dlt_column('company__address__state', dbt.type_string(), columns) }}
            as company_state,
        {{ dlt_column(
            'company__address__state_code', dbt.type_string(), columns
        ) }}
            as company_state_code,
        {{ dlt_column(
            'company__address__postal_code', dbt.type_string(), columns
        ) }}
            as company_postal_code,
        {{ dlt_column(
            'company__address__country', dbt.type_string(), columns
        ) }}
            as company_country,
        {{ dlt_column(
            'company__address__coordinates__lat', 'decimal(9, 6)', columns
        ) }} as company_latitude,
        {{ dlt_column(
            'company__address__coordinates__lng', 'decimal(9, 6)', columns
        ) }} as company_longitude,

        -- numerics
        {{ dlt_column('age', dbt.type_int(), columns) }} as age,
        {{ dlt_column('height', 'decimal(6, 2)', columns) }} as height,
        {{ dlt_column('weight', 'decimal(6, 2)', columns) }} as weight,

        -- versions
        {{ dlt_scd2_columns() }}

    from source

)

select * from renamed
