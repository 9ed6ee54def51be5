{#- Current customers, their personal data masked (int_customers_deduplicated masks it as
    it reads the change log; customers.yml says how). -#}
{{ config(materialized='table') }}

with

latest as (

    select * from {{ ref('int_customers_deduplicated') }}

),

final as (

    select
        -- ids
        latest.customer_id,

        -- masked personal data
        latest.email_hash,
        latest.phone_hash,
        latest.first_name_initial,
        latest.birth_year,

        -- booleans
        latest.has_valid_email,
        latest.has_valid_phone,
        latest.has_marketing_opt_in,

        -- timestamps
        latest.created_at,
        latest.updated_at,

        -- lineage
        latest.cdc_seq

    from latest
    where {{ cdc_is_current('customers') }}

)

select * from final
