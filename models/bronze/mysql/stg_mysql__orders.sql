with

source as (

    select * from {{ source('mysql', 'orders') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        cast(shipping_address_id as {{ dbt.type_bigint() }})
            as shipping_address_id,

        -- text (status as written: cleaned and validated in silver)
        cast(status as {{ dbt.type_string() }}) as order_status,
        cast(currency as {{ dbt.type_string() }}) as currency_code,

        -- numerics
        cast(total_amount as decimal(18, 2)) as total_amount,

        -- timestamps
        {{ wall_clock_to_utc('placed_at') }} as placed_at,
        {{ wall_clock_to_utc('created_at') }} as created_at,
        {{ wall_clock_to_utc('updated_at') }} as updated_at,

        -- change data capture
        {{ cdc_metadata_columns(source('mysql', 'orders')) }}

    from source

)

select * from renamed
