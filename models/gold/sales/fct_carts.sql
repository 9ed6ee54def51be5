{#- Every current API cart, with whether it was abandoned (in fct_abandoned_carts): the
    denominator of the abandoned-cart rate. -#}
with

carts as (

    select * from {{ ref('carts') }}

),

abandoned as (

    select cart_id from {{ ref('fct_abandoned_carts') }}

),

final as (

    select
        -- ids
        carts.cart_id,
        carts.customer_id,

        -- numerics
        cast(carts.product_count as {{ dbt.type_int() }}) as product_count,
        cast(carts.total_quantity as {{ dbt.type_int() }}) as total_quantity,
        cast(carts.total_amount as decimal(18, 2)) as cart_amount,
        cast(carts.discounted_total_amount as decimal(18, 2))
            as discounted_cart_amount,

        -- booleans
        {{ as_boolean('abandoned.cart_id is not null') }} as is_abandoned,

        -- timestamps
        carts.first_seen_at

    from carts
    left join abandoned
        on carts.cart_id = abandoned.cart_id

)

select * from final
