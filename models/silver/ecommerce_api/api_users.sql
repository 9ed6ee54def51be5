{#- The API's current users, PII masked: the users that passed validation
    (int_api_users_validated; the others are in api_users_quarantine). -#}
with

validated as (

    select * from {{ ref('int_api_users_validated') }}
    where quarantine_reason is null

),

final as (

    select
        -- ids
        user_id,

        -- masked personal data
        email_hash,
        phone_hash,
        city,
        country_code,

        -- text
        gender,
        user_role,

        -- numerics
        age,

        -- versions
        valid_from

    from validated

)

select * from final
