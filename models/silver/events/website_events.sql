{#- The valid website events. -#}
with

validated as (

    select * from {{ ref('int_website_events_validated') }}
    where quarantine_reason is null

),

final as (

    select
        -- ids
        session_id,
        file_path,
        line_number,
        customer_id,
        product_id,
        order_id,

        -- text
        event_type,
        page_path,

        -- numerics
        funnel_step,

        -- timestamps
        occurred_at

    from validated

)

select * from final
