{#- The shop's current products with their category, enriched from the API catalogue
    (rating, stock, availability, the API's brand) matched by SKU, the business key both
    share. Matching by id as well, where the SKU does not match, is opt-in
    (`api_product_match: sku_then_id`): ids of two systems agree only when one was made from
    the other, and a wrong id match silently gives a product another one's rating. -#}
{%- set by_id = var('api_product_match') == 'sku_then_id' -%}
{#- A build of the shop's models alone (`--select tag:mysql`) has no API catalogue: the
    products then carry no enrichment instead of failing. -#}
{%- set api_catalogue = ref('api_products') -%}
{%- set has_api_catalogue = (
    not execute
    or var('offline_compile', false)
    or load_relation(api_catalogue) is not none
) -%}
with

latest as (

    select * from {{ ref('int_products_deduplicated') }}

),

categories as (

    select * from {{ ref('categories') }}

),

api_products as (

    {% if has_api_catalogue -%}
    select * from {{ api_catalogue }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_bigint() }}) as product_id,
        cast(null as {{ dbt.type_string() }}) as sku,
        cast(null as {{ dbt.type_string() }}) as brand,
        cast(null as {{ dbt.type_string() }}) as availability_status,
        cast(null as decimal(4, 2)) as rating,
        cast(null as {{ dbt.type_bigint() }}) as stock_quantity
    where 1 = 0
    {%- endif %}

),

current_products as (

    select * from latest
    where {{ cdc_is_current('products') }}

),

final as (

    select
        -- ids
        current_products.product_id,
        current_products.category_id,
        {{ clean_text('current_products.sku') }} as sku,

        -- text
        {{ clean_text('current_products.product_title') }} as product_title,
        coalesce(
            {{ clean_text('current_products.brand') }},
            api_by_sku.brand,
            api_by_id.brand
        ) as brand,
        categories.category_slug,
        categories.category_name,
        categories.category_group,
        coalesce(api_by_sku.availability_status, api_by_id.availability_status)
            as availability_status,
        case
            when api_by_sku.product_id is not null then 'sku'
            when api_by_id.product_id is not null then 'id'
        end as api_match,

        -- numerics
        current_products.price,
        current_products.cost,
        coalesce(api_by_sku.rating, api_by_id.rating) as rating,
        coalesce(api_by_sku.stock_quantity, api_by_id.stock_quantity)
            as stock_quantity,

        -- booleans
        current_products.is_active,
        {{ as_boolean(
            'api_by_sku.product_id is not null'
            ~ ' or api_by_id.product_id is not null'
        ) }}
            as is_in_api_catalogue,

        -- timestamps
        current_products.created_at,
        current_products.updated_at,

        -- lineage
        current_products.cdc_seq

    from current_products
    left join categories
        on current_products.category_id = categories.category_id
    left join api_products as api_by_sku
        on {{ clean_text('current_products.sku') }} = api_by_sku.sku
    left join api_products as api_by_id
        on
            current_products.product_id = api_by_id.product_id
            and api_by_sku.product_id is null
            and {{ '1 = 1' if by_id else '1 = 0' }}

)

select * from final
