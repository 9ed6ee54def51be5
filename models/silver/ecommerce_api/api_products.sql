with

validated as (

    select * from {{ ref('int_api_products_validated') }}

),

final as (

    select
        -- ids
        product_id,
        sku,
        dlt_record_id,

        -- text
        product_title,
        category_slug,
        brand,
        availability_status,
        product_description,
        warranty_information,
        shipping_information,
        return_policy,
        barcode,
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
        valid_from

    from validated
    where quarantine_reason is null

)

select * from final
