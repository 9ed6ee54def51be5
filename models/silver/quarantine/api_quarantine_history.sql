{#- Every quarantine finding ever made on the API's data (products, carts, users), kept
    across runs: one row per entity, record, rule and record version (the record's content
    hash), with the run that first detected it. Append-only and exempt from --full-refresh;
    the shop's findings are in quarantine_history. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}

{{ quarantine_history_of([
    ('api_products', 'int_api_products_validated', 'product_id', 'content_hash', false),
    ('carts', 'int_carts_validated', 'cart_id', 'content_hash', false),
    ('api_users', 'int_api_users_validated', 'user_id', 'content_hash', false),
]) }}
