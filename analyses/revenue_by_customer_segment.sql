-- Customers, lifetime value and recency per RFM segment: the first question marketing asks.
-- dbt compiles analyses but never builds them. See the rows with
--   lakeshop dbt show --select revenue_by_customer_segment
-- or paste target/compiled/lakeshop/analyses/revenue_by_customer_segment.sql into a client.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        rfm_segment,
        count(*) as customer_count,
        sum(order_count) as order_count,
        sum(lifetime_value) as lifetime_value,
        avg(lifetime_value) as average_lifetime_value,
        avg(recency_days) as average_recency_days
    from customers
    where order_count > 0
    group by rfm_segment

)

select * from final
order by lifetime_value desc
