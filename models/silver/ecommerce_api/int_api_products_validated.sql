{#- The current version of every API product with the first rule it breaks, if any. The
    rules, in the order they are checked: missing_key (no id), duplicate_key (two current
    records with one id), unparseable_price (no price, or one that is not a number),
    negative_price. Nothing is dropped: products.sql keeps the valid rows,
    api_products_quarantine the others. -#}
with

products as (

    select * from {{ ref('stg_ecommerce_api__products') }}
    where {{ is_true('is_current_version') }}

),

keyed as (

    select
        *,
        count(*) over (partition by product_id) as records_with_id
    from products

),

final as (

    select
        -- ids
        product_id,
        {{ clean_text('sku') }} as sku,
        dlt_record_id,

        -- text
        {{ clean_text('product_title') }} as product_title,
        lower({{ clean_text('category_slug') }}) as category_slug,
        {{ clean_text('brand') }} as brand,
        lower({{ clean_text('availability_status') }}) as availability_status,
        {{ clean_text('product_description') }} as product_description,
        {{ clean_text('warranty_information') }} as warranty_information,
        {{ clean_text('shipping_information') }} as shipping_information,
        {{ clean_text('return_policy') }} as return_policy,
        {{ clean_text('barcode') }} as barcode,
        thumbnail_url,

        -- numerics
        price,
        discount_percentage,
        rating,
        stock_quantity,
        minimum_order_quantity,
        weight,
        width,
        height,
        depth,

        -- timestamps
        api_created_at,
        api_updated_at,

        -- versions
        content_hash,
        valid_from,

        -- validation
        case
            when product_id is null then 'missing_key'
            when records_with_id > 1 then 'duplicate_key'
            when price is null then 'unparseable_price'
            when price < 0 then 'negative_price'
        end as quarantine_reason

    from keyed

)

select * from final
