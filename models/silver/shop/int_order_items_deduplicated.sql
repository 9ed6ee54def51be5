{{
    config(
        materialized='incremental',
        unique_key='order_item_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{{ cdc_latest_changes('stg_mysql__order_items', 'order_item_id') }}
