with

source as (

    select * from {{ source('mysql', 'payments') }}
    -- numbered: landed whole (the ingestion numbers a load's rows once it committed)
    where _lakeshop_landed is not null

),

renamed as (

    select
        -- ids
        cast(payment_id as {{ dbt.type_bigint() }}) as payment_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,

        -- text
        cast(method as {{ dbt.type_string() }}) as payment_method,
        cast(status as {{ dbt.type_string() }}) as payment_status,

        -- numerics
        cast(amount as decimal(18, 2)) as amount,

        -- timestamps
        {{ wall_clock_to_utc('paid_at') }} as paid_at,
        {{ wall_clock_to_utc('created_at') }} as created_at,
        {{ wall_clock_to_utc('updated_at') }} as updated_at,

        -- change data capture
        {{ cdc_metadata_columns(source('mysql', 'payments')) }}

    from source

)

select * from renamed
