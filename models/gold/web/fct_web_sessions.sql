{#- One row per website session: when it ran, how far down the funnel it got, and the shop
    order its checkout placed when the shop has that order (silver orders). -#}
with

website_events as (

    select * from {{ ref('website_events') }}

),

orders as (

    select * from {{ ref('orders') }}

),

sessions as (

    select
        session_id,
        max(customer_id) as customer_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count,
        sum(case when event_type = 'page_view' then 1 else 0 end)
            as page_views,
        sum(case when event_type = 'product_view' then 1 else 0 end)
            as product_views,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end)
            as cart_adds,
        sum(case when event_type = 'checkout' then 1 else 0 end)
            as checkouts,
        max(case when event_type = 'checkout' then order_id end)
            as checkout_order_id

    from website_events
    group by session_id

),

final as (

    select
        -- ids
        sessions.session_id,
        sessions.customer_id,
        orders.order_id,

        -- numerics
        cast(sessions.event_count as {{ dbt.type_int() }}) as event_count,
        cast(sessions.page_views as {{ dbt.type_int() }}) as page_views,
        cast(sessions.product_views as {{ dbt.type_int() }}) as product_views,
        cast(sessions.cart_adds as {{ dbt.type_int() }}) as cart_adds,
        cast(sessions.checkouts as {{ dbt.type_int() }}) as checkouts,

        -- booleans
        {{ as_boolean('sessions.product_views > 0') }} as has_product_view,
        {{ as_boolean('sessions.cart_adds > 0') }} as has_cart_add,
        {{ as_boolean('sessions.checkouts > 0') }} as has_checkout,
        {{ as_boolean('orders.order_id is not null') }} as has_order,

        -- dates
        cast(sessions.started_at as date) as session_date,

        -- timestamps
        sessions.started_at,
        sessions.ended_at

    from sessions
    left join orders
        on sessions.checkout_order_id = orders.order_id

)

select * from final
