{#- Addresses reduced to city and country (street and postal code are PII and stop at
    bronze), with the country standardized to its ISO code through the country_codes seed. -#}
with

latest as (

    select * from {{ ref('int_addresses_deduplicated') }}

),

country_codes as (

    select * from {{ ref('country_codes') }}

),

current_addresses as (

    select * from latest
    where {{ cdc_is_current('addresses') }}

),

final as (

    select
        -- ids
        current_addresses.address_id,
        current_addresses.customer_id,

        -- text
        {{ clean_text('current_addresses.city') }} as city,
        country_codes.country_code,
        {{ clean_text('current_addresses.country') }} as country_as_written,

        -- booleans
        current_addresses.is_default,

        -- timestamps
        current_addresses.created_at,
        current_addresses.updated_at,

        -- lineage
        current_addresses.cdc_seq

    from current_addresses
    left join country_codes
        on
            lower({{ clean_text('current_addresses.country') }})
            = country_codes.country_alias

)

select * from final
