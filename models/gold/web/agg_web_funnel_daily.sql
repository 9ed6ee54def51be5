{#- The website funnel per day: sessions, and how many reached a product page, the cart, the
    checkout and a shop order, with the conversion from one step to the last. -#}
with

sessions as (

    select * from {{ ref('fct_web_sessions') }}

),

steps as (

    select
        session_date,
        count(*) as sessions,
        sum(case when {{ is_true('has_product_view') }} then 1 else 0 end)
            as product_view_sessions,
        sum(case when {{ is_true('has_cart_add') }} then 1 else 0 end)
            as cart_sessions,
        sum(case when {{ is_true('has_checkout') }} then 1 else 0 end)
            as checkout_sessions,
        sum(case when {{ is_true('has_order') }} then 1 else 0 end)
            as order_sessions

    from sessions
    group by session_date

),

final as (

    select
        -- dates
        session_date,

        -- numerics
        cast(sessions as {{ dbt.type_int() }}) as sessions,
        cast(product_view_sessions as {{ dbt.type_int() }})
            as product_view_sessions,
        cast(cart_sessions as {{ dbt.type_int() }}) as cart_sessions,
        cast(checkout_sessions as {{ dbt.type_int() }}) as checkout_sessions,
        cast(order_sessions as {{ dbt.type_int() }}) as order_sessions,
        cast(1.0 * order_sessions / sessions as double precision)
            as conversion_rate

    from steps

)

select * from final
