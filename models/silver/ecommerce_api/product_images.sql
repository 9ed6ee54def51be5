{#- The images of the current API products: one row per product and image URL. -#}
with

products as (

    select * from {{ ref('int_api_products_validated') }}

),

images as (

    select * from {{ ref('stg_ecommerce_api__product_images') }}

),

final as (

    select
        -- ids
        images.product_image_id,
        products.product_id,

        -- text
        images.image_url,

        -- numerics
        images.list_index as image_number

    from images
    inner join products
        on images.parent_record_id = products.dlt_record_id

)

select * from final
