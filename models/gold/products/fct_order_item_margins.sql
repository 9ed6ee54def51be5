{#- Every valid order line with its cost and profit at the product's current cost, the
    definition agg_category_profit uses. A view, so a change of a product's cost shows at
    once without rebuilding the incremental fct_order_items. The semantic layer's profit
    and margin metrics read it. -#}
{{ config(materialized='view') }}

with

order_items as (

    select * from {{ ref('fct_order_items') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

final as (

    select
        -- ids
        order_items.order_item_id,
        order_items.order_id,
        order_items.product_id,
        order_items.customer_id,

        -- numerics
        order_items.quantity,
        order_items.net_amount,
        cast(order_items.quantity * products.cost as decimal(18, 2))
            as cost_amount,
        cast(
            order_items.net_amount - order_items.quantity * products.cost
            as decimal(18, 2)
        ) as profit_amount,

        -- booleans
        order_items.counts_as_revenue,

        -- dates
        order_items.order_date

    from order_items
    inner join products
        on order_items.product_id = products.product_id

)

select * from final
