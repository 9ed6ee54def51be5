{#- The tags of the current API products: one row per product and tag. -#}
with

products as (

    select * from {{ ref('int_api_products_validated') }}

),

tags as (

    select * from {{ ref('stg_ecommerce_api__product_tags') }}

),

final as (

    select
        -- ids
        tags.product_tag_id,
        products.product_id,

        -- text
        lower({{ clean_text('tags.tag') }}) as tag_name,

        -- numerics
        tags.list_index as tag_number

    from tags
    inner join products
        on tags.parent_record_id = products.dlt_record_id

)

select * from final
