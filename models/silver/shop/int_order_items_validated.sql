{#- Every current order line with the first validation rule it breaks, or null. The rules,
    in the order they are checked:
      missing_key        no order item id
      negative_quantity  quantity below zero
      negative_price     unit price or discount below zero
      orphan_product     the product does not exist (now)
      orphan_order       the order does not exist (now)
      order_quarantined  the line's order is in quarantine (so gold never holds a line
                         without its order)
    order_items.sql keeps the rows without a reason, order_items_quarantine the others. -#}
with

latest as (

    select * from {{ ref('int_order_items_deduplicated') }}

),

products as (

    select * from {{ ref('products') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

current_items as (

    select * from latest
    where {{ cdc_is_current('order_items') }}

),

final as (

    select
        -- ids
        current_items.order_item_id,
        current_items.order_id,
        current_items.product_id,

        -- numerics
        current_items.quantity,
        current_items.unit_price,
        current_items.discount_amount,

        -- timestamps
        current_items.created_at,
        current_items.updated_at,

        -- lineage
        current_items.cdc_seq,

        -- validation
        case
            when current_items.order_item_id is null then 'missing_key'
            when current_items.quantity < 0 then 'negative_quantity'
            when
                current_items.unit_price < 0 or current_items.discount_amount < 0
                then 'negative_price'
            when products.product_id is null then 'orphan_product'
            when orders.order_id is null then 'orphan_order'
            when orders.quarantine_reason is not null then 'order_quarantined'
        end as quarantine_reason

    from current_items
    left join products
        on current_items.product_id = products.product_id
    left join orders
        on current_items.order_id = orders.order_id

)

select * from final
