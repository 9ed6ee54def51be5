{#- The current version of every API user, PII masked the same way as the shop's customers
    (emails and phones hashed with the configured salt, names, usernames, street addresses,
    bank and identity fields dropped, the location reduced to city and country code), with
    the first rule it breaks, if any: missing_key (no id), duplicate_key (two current records
    with one id). Masking comes first, so quarantine holds no raw PII either. Nothing is
    dropped: api_users keeps the valid users, api_users_quarantine the others. -#}
{#- a table, not a view: a view's stored SQL would need the salt at read time -#}
{{ config(materialized='table') }}

with

users as (

    select
        *,
        count(*) over (partition by user_id) as records_with_id
    from {{ ref('stg_ecommerce_api__users') }}
    where {{ is_true('is_current_version') }}

),

country_codes as (

    select * from {{ ref('country_codes') }}

),

final as (

    select
        -- ids
        users.user_id,
        users.dlt_record_id,

        -- masked personal data
        {{ mask_pii("lower(" ~ clean_text('users.email') ~ ")") }}
            as email_hash,
        {{ mask_pii(normalize_phone('users.phone')) }} as phone_hash,
        {{ clean_text('users.city') }} as city,
        country_codes.country_code,

        -- text
        lower({{ clean_text('users.gender') }}) as gender,
        lower({{ clean_text('users.user_role') }}) as user_role,

        -- numerics
        users.age,

        -- versions
        users.content_hash,
        users.valid_from,

        -- validation
        case
            when users.user_id is null then 'missing_key'
            when users.records_with_id > 1 then 'duplicate_key'
        end as quarantine_reason

    from users
    left join country_codes
        on
            lower({{ clean_text('users.country') }})
            = country_codes.country_alias

)

select * from final
