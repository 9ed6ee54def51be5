{#- Average order value per day: net revenue over the orders that count as revenue. -#}
with

orders as (

    select * from {{ ref('fct_orders') }}
    where {{ is_true('counts_as_revenue') }}

),

final as (

    select
        -- ids
        order_date,

        -- numerics
        cast(count(*) as {{ dbt.type_int() }}) as order_count,
        cast(sum(net_amount) as decimal(18, 2)) as net_amount,
        cast(sum(net_amount) / count(*) as decimal(18, 2))
            as average_order_value

    from orders
    group by order_date

)

select * from final
