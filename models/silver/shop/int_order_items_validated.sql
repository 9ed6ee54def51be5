{#- Every order line key (current or not) with the first validation rule its current row
    breaks. The rules, in the order they are checked:
      missing_key        no order item id
      negative_quantity  quantity below zero
      negative_price     unit price or discount below zero
      orphan_product     the product does not exist (now)
      orphan_order       the order does not exist (now)
      order_quarantined  the line's order is in quarantine (so gold never holds a line
                         without its order)
    order_items and order_items_quarantine are views on the current rows of this table.

    Incremental: a run re-validates the lines whose latest change is newer than the last
    run's watermark, the lines of orders re-validated since (by watermark, or by their
    validated_at: an order released without a new change), the lines of products that
    changed and whose existence may have with them (gone now, or held as an orphan before:
    nothing else of a product decides a line's verdict), and everything after a new
    snapshot generation. -#}
{{
    config(
        materialized='incremental',
        unique_key='order_item_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- what the last run saw: constants, read when the model is compiled (previous_value) -#}
{%- set watermark = previous_landed('validated_through_seq') if is_incremental() else none -%}
{%- set last_validated_at = previous_value('max(validated_at)', 'null') if is_incremental() else none -%}
{%- set revalidated = order_items_to_revalidate(watermark, last_validated_at) if is_incremental() else none -%}

with

item_changes as (

    select * from {{ ref('int_order_items_deduplicated') }}

),

products as (

    select * from {{ ref('products') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

run_watermark as (

    {{ input_watermark([
        ('item_changes', 'landed_seq'),
        (ref('int_products_deduplicated'), 'landed_seq'),
        ('orders', 'validated_through_seq'),
    ], 'validated_through_seq', watermark) }}

),

in_scope as (

    select
        latest.*,
        {{ as_boolean(cdc_is_current('order_items')) }} as is_current
    from item_changes as latest
    {% if is_incremental() %}
    -- the lines a change can touch (macros/rebuild_scopes.sql)
    where latest.order_item_id in ({{ revalidated }})
    {% endif %}

),

final as (

    select
        -- ids
        in_scope.order_item_id,
        in_scope.order_id,
        in_scope.product_id,

        -- numerics
        in_scope.quantity,
        in_scope.unit_price,
        in_scope.discount_amount,

        -- booleans
        in_scope.is_current,

        -- timestamps
        in_scope.created_at,
        in_scope.updated_at,

        -- lineage
        in_scope.cdc_seq,
        run_watermark.validated_through_seq,
        {{ build_stamp() }} as validated_at,

        -- validation
        case
            when not ({{ is_true('in_scope.is_current') }}) then null
            when in_scope.order_item_id is null then 'missing_key'
            when in_scope.quantity < 0 then 'negative_quantity'
            when
                in_scope.unit_price < 0 or in_scope.discount_amount < 0
                then 'negative_price'
            when products.product_id is null then 'orphan_product'
            when
                orders.order_id is null
                or not ({{ is_true('orders.is_current') }})
                then 'orphan_order'
            when orders.quarantine_reason is not null then 'order_quarantined'
        end as quarantine_reason

    from in_scope
    cross join run_watermark
    left join products
        on in_scope.product_id = products.product_id
    left join orders
        on in_scope.order_id = orders.order_id

)

select * from final
