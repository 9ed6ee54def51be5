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

        -- numerics
        price,
        discount_percentage,
        rating,
        stock_quantity,

        -- versions
        content_hash,
        valid_from

    from validated
    where quarantine_reason is null

)

select * from final
