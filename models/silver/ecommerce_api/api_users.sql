{#- The API's current users with PII masked the same way as the shop's customers: emails
    and phones hashed with the configured salt, names, usernames, street addresses, bank and
    identity fields dropped, the location reduced to city and country code. -#}
with

users as (

    select * from {{ ref('stg_ecommerce_api__users') }}
    where {{ is_true('is_current_version') }}

),

country_codes as (

    select * from {{ ref('country_codes') }}

),

final as (

    select
        -- ids
        users.user_id,

        -- masked personal data
        {{ mask_pii("lower(" ~ clean_text('users.email') ~ ")") }} as email_hash,
        {{ mask_pii(normalize_phone('users.phone')) }} as phone_hash,
        {{ clean_text('users.city') }} as city,
        country_codes.country_code,

        -- text
        lower({{ clean_text('users.gender') }}) as gender,
        lower({{ clean_text('users.user_role') }}) as user_role,

        -- numerics
        users.age,

        -- versions
        users.valid_from

    from users
    left join country_codes
        on lower({{ clean_text('users.country') }}) = country_codes.country_alias
    where users.user_id is not null

)

select * from final
