with

latest as (

    select * from {{ ref('int_categories_deduplicated') }}

),

category_mapping as (

    select * from {{ ref('category_mapping') }}

),

current_categories as (

    select * from latest
    where {{ cdc_is_current('categories') }}

),

final as (

    select
        -- ids
        current_categories.category_id,
        lower({{ clean_text('current_categories.category_slug') }})
            as category_slug,

        -- text
        {{ clean_text('current_categories.category_name') }} as category_name,
        coalesce(category_mapping.category_group, 'Other') as category_group,

        -- timestamps
        current_categories.created_at,
        current_categories.updated_at,

        -- lineage
        current_categories.cdc_seq

    from current_categories
    left join category_mapping
        on
            lower({{ clean_text('current_categories.category_slug') }})
            = category_mapping.category_slug

)

select * from final
