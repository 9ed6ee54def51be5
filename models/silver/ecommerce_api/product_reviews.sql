{#- The reviews of the current API products: one row per review, the reviewer masked
    (email as a salted hash; the name stops in bronze). Reviews of a product in quarantine
    are kept, like the product's other children: the finding is about the product. -#}
{#- a table, not a view: a view's stored SQL would need the salt at read time -#}
{{ config(materialized='table') }}

with

products as (

    select * from {{ ref('int_api_products_validated') }}

),

reviews as (

    select * from {{ ref('stg_ecommerce_api__product_reviews') }}

),

final as (

    select
        -- ids
        reviews.product_review_id,
        products.product_id,

        -- masked personal data
        {{ mask_pii("lower(" ~ clean_text('reviews.reviewer_email') ~ ")") }}
            as reviewer_email_hash,

        -- text
        {{ clean_text('reviews.review_comment') }} as review_comment,

        -- numerics
        reviews.list_index as review_number,
        reviews.rating,

        -- timestamps
        reviews.reviewed_at

    from reviews
    inner join products
        on reviews.parent_record_id = products.dlt_record_id

)

select * from final
