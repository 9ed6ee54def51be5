{#- The latest change per address, without the street line and postal code: they are
    personal data and stay in bronze (city and country are all of an address that leaves
    it). -#}
{{
    config(
        materialized='incremental',
        unique_key='address_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

{{ cdc_latest_changes(
    'stg_mysql__addresses',
    'address_id',
    columns='address_id, customer_id, city, country, is_default, created_at, updated_at, '
    ~ cdc_column_names(),
) }}
