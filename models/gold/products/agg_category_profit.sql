{#- Sales and profit per category over all time (orders that count as revenue), ranked by
    profit, with the highest- and lowest-profit categories flagged. Cost is each line's
    quantity at the product's current cost. -#}
with

order_items as (

    select * from {{ ref('fct_order_items') }}
    where {{ is_true('counts_as_revenue') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

per_category as (

    select
        products.category_id,
        products.category_slug,
        products.category_name,
        products.category_group,
        count(distinct order_items.order_id) as order_count,
        sum(order_items.quantity) as unit_count,
        sum(order_items.net_amount) as net_amount,
        sum(order_items.quantity * products.cost) as cost_amount,
        sum(order_items.net_amount - order_items.quantity * products.cost)
            as profit_amount
    from order_items
    inner join products
        on order_items.product_id = products.product_id
    group by
        products.category_id,
        products.category_slug,
        products.category_name,
        products.category_group

),

ranked as (

    select
        *,
        row_number()
            over (order by profit_amount desc, category_id asc)
            as profit_rank,
        row_number()
            over (order by profit_amount, category_id)
            as reverse_profit_rank
    from per_category

),

final as (

    select
        -- ids
        category_id,
        category_slug,

        -- text
        category_name,
        category_group,

        -- numerics
        cast(order_count as {{ dbt.type_int() }}) as order_count,
        cast(unit_count as {{ dbt.type_bigint() }}) as unit_count,
        cast(net_amount as decimal(18, 2)) as net_amount,
        cast(cost_amount as decimal(18, 2)) as cost_amount,
        cast(profit_amount as decimal(18, 2)) as profit_amount,
        cast(
            case
                when net_amount = 0 then null
                else 100.0 * profit_amount / net_amount
            end as decimal(9, 2)
        ) as profit_margin_percent,
        cast(profit_rank as {{ dbt.type_int() }}) as profit_rank,

        -- booleans
        {{ as_boolean('profit_rank = 1') }} as is_highest_profit,
        {{ as_boolean('reverse_profit_rank = 1') }} as is_lowest_profit

    from ranked

)

select * from final
