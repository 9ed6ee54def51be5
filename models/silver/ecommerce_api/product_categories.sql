{#- The API's current product categories: slug, display name and the URL listing them. -#}
with

categories as (

    select * from {{ ref('stg_ecommerce_api__product_categories') }}
    where {{ is_true('is_current_version') }}

),

final as (

    select
        -- ids
        lower({{ clean_text('category_slug') }}) as category_slug,

        -- text
        {{ clean_text('category_name') }} as category_name,
        category_url

    from categories

)

select * from final
