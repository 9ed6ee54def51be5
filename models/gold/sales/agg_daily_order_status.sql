{#- Orders and revenue per day and status, every accepted status included. -#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

final as (

    select
        -- ids
        order_date,
        order_status,

        -- numerics
        cast(count(*) as {{ dbt.type_int() }}) as order_count,
        cast(sum(net_amount) as decimal(18, 2)) as net_amount

    from orders
    group by order_date, order_status

)

select * from final
