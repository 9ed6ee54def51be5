{#- One row per current customer with an RFM segment and the breadth of what they buy;
    the rules: dim_customers.yml. RFM scores are quintiles of cume_dist (equal behaviour,
    equal scores, whatever the ids); recency counts back from the latest order date in the
    data, not today, so a rebuild of old data gives the same segments. -#}
with

customers as (

    select * from {{ ref('customers') }}

),

addresses as (

    select * from {{ ref('addresses') }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    where {{ is_true('counts_as_revenue') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}
    where {{ is_true('counts_as_revenue') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

customer_categories as (

    select
        order_items.customer_id,
        count(distinct products.category_group) as category_count
    from order_items
    inner join products on order_items.product_id = products.product_id
    group by order_items.customer_id

),

default_address as (

    select
        customer_id,
        city,
        country_code,
        row_number() over (
            partition by customer_id
            order by
                case when {{ is_true('is_default') }} then 0 else 1 end,
                address_id
        ) as address_rank
    from addresses

),

customer_orders as (

    select
        customer_id,
        min(placed_at) as first_order_at,
        max(placed_at) as last_order_at,
        max(order_date) as last_order_date,
        count(*) as order_count,
        sum(net_amount) as lifetime_value
    from orders
    group by customer_id

),

as_of as (

    select max(order_date) as as_of_date from orders

),

scored as (

    select
        customer_orders.*,
        {{ dbt.datediff(
            'customer_orders.last_order_date', 'as_of.as_of_date', 'day'
        ) }} as recency_days,
        {{ quintile(
            'cume_dist() over (order by customer_orders.last_order_date)'
        ) }} as recency_score,
        {{ quintile(
            'cume_dist() over (order by customer_orders.order_count)'
        ) }} as frequency_score,
        {{ quintile(
            'cume_dist() over (order by customer_orders.lifetime_value)'
        ) }} as monetary_score
    from customer_orders
    cross join as_of

),

final as (

    select
        -- ids
        customers.customer_id,

        -- text
        default_address.city,
        default_address.country_code,
        case
            when scored.customer_id is null then 'no_purchases'
            when scored.recency_score >= 4 and scored.frequency_score >= 4
                then 'champions'
            when scored.frequency_score >= 4 then 'loyal'
            when scored.recency_score <= 2 and scored.frequency_score >= 3
                then 'at_risk'
            when scored.recency_score <= 2 then 'hibernating'
            when scored.recency_score >= 4 then 'new_or_promising'
            else 'needs_attention'
        end as rfm_segment,
        case
            when scored.customer_id is null then 'no_purchases'
            when coalesce(bought.category_count, 0) <= 1 then 'specialist'
            when bought.category_count <= 3 then 'regular_mix'
            else 'broad'
        end as category_breadth,

        -- numerics
        cast(coalesce(scored.order_count, 0) as {{ dbt.type_int() }})
            as order_count,
        cast(coalesce(scored.lifetime_value, 0) as decimal(18, 2))
            as lifetime_value,
        cast(coalesce(bought.category_count, 0) as {{ dbt.type_int() }})
            as category_count,
        cast(scored.recency_days as {{ dbt.type_int() }}) as recency_days,
        cast(scored.recency_score as {{ dbt.type_int() }}) as recency_score,
        cast(scored.frequency_score as {{ dbt.type_int() }}) as frequency_score,
        cast(scored.monetary_score as {{ dbt.type_int() }}) as monetary_score,

        -- booleans
        customers.has_valid_email,
        customers.has_marketing_opt_in,

        -- timestamps
        customers.created_at as signed_up_at,
        scored.first_order_at,
        scored.last_order_at

    from customers
    left join default_address
        on
            customers.customer_id = default_address.customer_id
            and default_address.address_rank = 1
    left join scored
        on customers.customer_id = scored.customer_id
    left join customer_categories as bought
        on customers.customer_id = bought.customer_id

)

select * from final
