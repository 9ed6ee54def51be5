{#- Customers with their PII masked: emails and phones become salted SHA-256 hashes (after
    normalizing, so the same address always gives the same hash), names are reduced to the
    first name's initial, the birth date to the year. Malformed emails and phones are not
    hashed: the flags say which customers have a usable one. -#}
{#- a table, not a view: a view's stored SQL would need the salt at read time -#}
{{ config(materialized='table') }}

with

latest as (

    select * from {{ ref('int_customers_deduplicated') }}

),

current_customers as (

    select * from latest
    where {{ cdc_is_current('customers') }}

),

normalized as (

    select
        customer_id,
        lower({{ clean_text('email') }}) as email_normalized,
        {{ normalize_phone('phone') }} as phone_normalized,
        {{ clean_text('first_name') }} as first_name,
        birth_date,
        has_marketing_opt_in,
        created_at,
        updated_at,
        cdc_seq
    from current_customers

),

validated as (

    select
        *,
        {{ as_boolean(
            "email_normalized is not null and " ~ is_valid_email('email_normalized')
        ) }} as has_valid_email,
        {{ as_boolean(
            "phone_normalized is not null and "
            ~ regex_matches(
                'phone_normalized', '^\\+?[0-9]{7,15}$', '%[0-9][0-9][0-9][0-9][0-9][0-9][0-9]%'
            )
        ) }} as has_valid_phone
    from normalized

),

final as (

    select
        -- ids
        customer_id,

        -- masked personal data
        case
            when {{ is_true('has_valid_email') }}
                then {{ mask_pii('email_normalized') }}
        end as email_hash,
        case
            when {{ is_true('has_valid_phone') }}
                then {{ mask_pii('phone_normalized') }}
        end as phone_hash,
        upper(substring(first_name, 1, 1)) as first_name_initial,
        {{ extract_year('birth_date') }} as birth_year,

        -- booleans
        has_valid_email,
        has_valid_phone,
        has_marketing_opt_in,

        -- timestamps
        created_at,
        updated_at,

        -- lineage
        cdc_seq

    from validated

)

select * from final
