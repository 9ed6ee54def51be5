{#- What an incremental run of a shop model reads again: the keys, as a query. Each model
    holds its grain and its rules; these hold which keys a change upstream can touch, and
    why (the property test holds each to a full refresh). `watermark` and the last stamp are
    what the model's previous build saw, constants (previous_landed, previous_value). -#}

{#- int_orders_validated: the orders whose verdict a change since `watermark` can turn. -#}
{% macro orders_to_revalidate(watermark) %}
    {%- set order_changes = ref('int_orders_deduplicated') -%}
    {%- set customer_changes = ref('int_customers_deduplicated') -%}
    select order_changes.order_id
    from {{ order_changes }} as order_changes
    where order_changes.landed_seq > {{ watermark }}

    union

    -- the orders a changed order can be the earlier checkout of (duplicate_submission),
    -- from where it is now and from where it was before this run
    select neighbours.order_id
    from {{ order_changes }} as neighbours
    inner join (
        select changed.customer_id, changed.placed_at
        from {{ order_changes }} as changed
        where changed.landed_seq > {{ watermark }}
        union
        select previous_orders.customer_id, previous_orders.placed_at
        from {{ this }} as previous_orders
        inner join {{ order_changes }} as changed
            on previous_orders.order_id = changed.order_id
        where changed.landed_seq > {{ watermark }}
    ) as positions
        on
            neighbours.customer_id = positions.customer_id
            and neighbours.placed_at >= positions.placed_at
            and neighbours.placed_at <= {{ dbt.dateadd(
                'second', var('duplicate_window_seconds'), 'positions.placed_at'
            ) }}

    union

    -- only a customer's existence decides an order's verdict (orphan_customer): the
    -- orders of one that changed and is gone now, or that hold them as its orphans
    select order_changes.order_id
    from {{ order_changes }} as order_changes
    inner join {{ customer_changes }} as customer_changes
        on order_changes.customer_id = customer_changes.customer_id
    left join {{ ref('customers') }} as customers
        on order_changes.customer_id = customers.customer_id
    left join {{ this }} as previous_orders
        on order_changes.order_id = previous_orders.order_id
    where
        customer_changes.landed_seq > {{ watermark }}
        and (
            customers.customer_id is null
            or previous_orders.quarantine_reason = 'orphan_customer'
        )

    union

    -- time moves on: the orders held as future_date that are due now
    select held.order_id
    from {{ this }} as held
    where
        held.quarantine_reason = 'future_date'
        and held.placed_at <= {{ dbt.dateadd(
            'hour', var('future_date_tolerance_hours'), lakeshop.run_started_at_utc()
        ) }}

    union

    {{ lakeshop.everything_after_a_new_generation(
        order_changes, 'order_id', ['orders', 'customers'], watermark
    ) }}
{% endmacro %}

{#- int_order_items_validated: the lines whose verdict a change since `watermark` (or an
    order re-validated since `last_validated_at`) can turn. -#}
{% macro order_items_to_revalidate(watermark, last_validated_at) %}
    {%- set item_changes = ref('int_order_items_deduplicated') -%}
    select item_changes.order_item_id
    from {{ item_changes }} as item_changes
    where item_changes.landed_seq > {{ watermark }}

    union

    -- the lines of the orders re-validated since (a new change, or a release)
    select item_changes.order_item_id
    from {{ item_changes }} as item_changes
    inner join {{ ref('int_orders_validated') }} as orders
        on item_changes.order_id = orders.order_id
    where {{ lakeshop.moved_since('orders', watermark, last_validated_at) }}

    union

    -- only a product's existence decides a line's verdict (orphan_product): the lines of
    -- one that changed and is gone now, or that hold them as its orphans (a price change
    -- re-validates nothing)
    select item_changes.order_item_id
    from {{ item_changes }} as item_changes
    inner join {{ ref('int_products_deduplicated') }} as product_changes
        on item_changes.product_id = product_changes.product_id
    left join {{ ref('products') }} as products
        on item_changes.product_id = products.product_id
    left join {{ this }} as previous_items
        on item_changes.order_item_id = previous_items.order_item_id
    where
        product_changes.landed_seq > {{ watermark }}
        and (
            products.product_id is null
            or previous_items.quarantine_reason = 'orphan_product'
        )

    union

    {{ lakeshop.everything_after_a_new_generation(
        item_changes, 'order_item_id', ['order_items', 'products'], watermark
    ) }}
{% endmacro %}

{#- Every key of `changes` when a snapshot generation of one of `tables` landed since
    `watermark` (a re-snapshot can change any row's currency). -#}
{% macro everything_after_a_new_generation(changes, key_column, tables, watermark) %}
    select all_changes.{{ key_column }}
    from {{ changes }} as all_changes
    where exists (
        select 1
        from {{ ref('stg_mysql__cdc_snapshots') }} as generations
        where
            generations.table_name in ('{{ tables | join("', '") }}')
            and generations.landed_seq > {{ watermark }}
    )
{% endmacro %}

{#- fct_orders: the orders that moved upstream since `watermark` or `last_built_at` (their
    row in silver, their lines, payments or shipments), and the other orders of their
    customers, now or before this run, whose first-order flag the run turns (a derived
    table, not a CTE: SQL Server takes none inside a subquery). A line is followed in
    silver too, not only in fct_order_items: a line that left gold (deleted or
    quarantined) leaves no row there to say its order changed. -#}
{% macro orders_to_rebuild(watermark, last_built_at) %}
    {%- set changed_orders -%}
        select validated_orders.order_id
        from {{ ref('int_orders_validated') }} as validated_orders
        where {{ lakeshop.moved_since('validated_orders', watermark, last_built_at) }}
        union
        select order_items.order_id
        from {{ ref('fct_order_items') }} as order_items
        where {{ lakeshop.moved_since(
            'order_items', watermark, last_built_at, 'built_through_seq', 'built_at'
        ) }}
        union
        select validated_items.order_id
        from {{ ref('int_order_items_validated') }} as validated_items
        where {{ lakeshop.moved_since('validated_items', watermark, last_built_at) }}
        union
        select payment_changes.order_id
        from {{ ref('int_payments_deduplicated') }} as payment_changes
        where payment_changes.landed_seq > {{ watermark }}
        union
        select shipment_changes.order_id
        from {{ ref('int_shipments_deduplicated') }} as shipment_changes
        where shipment_changes.landed_seq > {{ watermark }}
    {%- endset -%}
{{ changed_orders }}

    union

    select customer_orders.order_id
    from (
        select
            orders.order_id,
            row_number() over (
                partition by orders.customer_id
                order by orders.placed_at, orders.order_id
            ) as order_sequence
        from {{ ref('orders') }} as orders
        where orders.customer_id in (
            -- their customers now, and before this run (an order moved to another
            -- customer may leave the old one a new first order)
            select validated_orders.customer_id
            from {{ ref('int_orders_validated') }} as validated_orders
            where validated_orders.order_id in ({{ changed_orders }})
            union
            select previous_orders.customer_id
            from {{ this }} as previous_orders
            where previous_orders.order_id in ({{ changed_orders }})
        )
    ) as customer_orders
    left join {{ this }} as previous_orders
        on customer_orders.order_id = previous_orders.order_id
    where
        previous_orders.order_id is null
        or {{ lakeshop.as_boolean('customer_orders.order_sequence = 1') }}
        != previous_orders.is_first_order
{% endmacro %}
