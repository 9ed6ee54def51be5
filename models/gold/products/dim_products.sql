{#- One row per current product: catalogue data from the shop, category and group, and the
    API's enrichment (rating, stock, availability). -#}
with

products as (

    select * from {{ ref('products') }}

),

final as (

    select
        -- ids
        product_id,
        category_id,
        sku,

        -- text
        product_title,
        brand,
        category_slug,
        category_name,
        category_group,
        availability_status,

        -- numerics
        cast(price as decimal(18, 2)) as price,
        cast(cost as decimal(18, 2)) as cost,
        cast(rating as decimal(4, 2)) as rating,
        cast(stock_quantity as {{ dbt.type_bigint() }}) as stock_quantity,

        -- booleans
        is_active,
        is_in_api_catalogue,

        -- timestamps
        created_at,
        updated_at

    from products

)

select * from final
