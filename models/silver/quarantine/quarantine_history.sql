{#- Every quarantine finding ever made on the shop's data (orders, order lines), kept across
    runs: one row per entity, record, rule and record version (the change's cdc_seq), with
    the run that first detected it. Append-only and exempt from --full-refresh, so history
    survives a rebuild of everything else; a finding whose record is later fixed stays here,
    and the per-entity quarantine models show only what is quarantined now. The API's
    findings are in api_quarantine_history. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}

{{ quarantine_history_of([
    ('orders', 'int_orders_validated', 'order_id', 'cdc_seq', true),
    ('order_items', 'int_order_items_validated', 'order_item_id', 'cdc_seq', true),
]) }}
