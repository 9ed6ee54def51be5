-- Warns when fewer shop products than `api_min_match_rate` find their API catalogue entry:
-- the two systems' SKUs disagree (another shop's catalogue, a renamed SKU scheme), and the
-- rating, stock and availability in silver and gold are mostly missing. Returns one row
-- with the counts when the rate is too low; nothing when the API catalogue is empty.
{{ config(severity='warn') }}
{#- a build of one source's models alone has one side only: nothing to compare -#}
{%- set products, api_products = ref('products'), ref('api_products') -%}
{%- set both_built = (
    not execute
    or var('offline_compile', false)
    or (
        load_relation(products) is not none
        and load_relation(api_products) is not none
    )
) -%}
{%- if both_built %}

with

products as (

    select * from {{ ref('products') }}

),

api_products as (

    select * from {{ ref('api_products') }}

),

catalogue as (

    select count(*) as api_product_count from api_products

),

matches as (

    select
        count(*) as product_count,
        sum(case when api_match is not null then 1 else 0 end) as matched_count
    from products

),

final as (

    select
        matches.product_count,
        matches.matched_count,
        catalogue.api_product_count
    from matches
    cross join catalogue
    where
        catalogue.api_product_count > 0
        and matches.product_count > 0
        and matches.matched_count
        < {{ var('api_min_match_rate') }} * matches.product_count

)

select * from final
{%- else %}
select 0 as product_count
where 1 = 0
{%- endif %}
