with

latest as (

    select * from {{ ref('int_shipments_deduplicated') }}

),

current_shipments as (

    select * from latest
    where {{ cdc_is_current('shipments') }}

),

final as (

    select
        -- ids
        shipment_id,
        order_id,
        {{ clean_text('tracking_number') }} as tracking_number,

        -- text
        lower({{ clean_text('carrier') }}) as carrier,
        lower({{ clean_text('shipment_status') }}) as shipment_status,

        -- timestamps
        shipped_at,
        delivered_at,
        created_at,
        updated_at,

        -- lineage
        cdc_seq,
        built_at

    from current_shipments

)

select * from final
