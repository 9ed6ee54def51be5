-- No order or order line is both in silver and in quarantine (the complement of the
-- reconciliation tests, which prove each current row is in at least one of them).
select
    'orders' as entity,
    orders.order_id as record_key
from {{ ref('orders') }} as orders
inner join {{ ref('orders_quarantine') }} as quarantined
    on orders.order_id = quarantined.order_id

union all

select
    'order_items' as entity,
    order_items.order_item_id as record_key
from {{ ref('order_items') }} as order_items
inner join {{ ref('order_items_quarantine') }} as quarantined
    on order_items.order_item_id = quarantined.order_item_id
