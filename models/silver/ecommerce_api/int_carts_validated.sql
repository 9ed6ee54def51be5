{#- The current version of every API cart with the first rule it breaks, if any: missing_key
    (no id), duplicate_key (two current records with one id). Nothing is dropped: carts.sql
    keeps the valid carts, carts_quarantine the others. -#}
with

carts as (

    select * from {{ ref('stg_ecommerce_api__carts') }}
    where {{ is_true('is_current_version') }}

),

keyed as (

    select
        *,
        count(*) over (partition by cart_id) as records_with_id
    from carts

),

final as (

    select
        -- ids
        cart_id,
        user_id as customer_id,
        dlt_record_id,

        -- numerics
        product_count,
        total_quantity,
        total_amount,
        discounted_total_amount,

        -- versions
        content_hash,
        valid_from as first_seen_at,

        -- validation
        case
            when cart_id is null then 'missing_key'
            when records_with_id > 1 then 'duplicate_key'
        end as quarantine_reason

    from keyed

)

select * from final
