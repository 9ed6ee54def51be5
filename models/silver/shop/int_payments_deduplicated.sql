{{
    config(
        materialized='incremental',
        unique_key='payment_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{{ cdc_latest_changes('stg_mysql__payments', 'payment_id') }}
