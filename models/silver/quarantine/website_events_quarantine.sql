{#- The website events rejected, each with its file, line, the values as written and the
    rule it broke; `lakeshop events discard` writes them back to the lake's quarantine/
    prefix. -#}
with

validated as (

    select * from {{ ref('int_website_events_validated') }}
    where quarantine_reason is not null

),

final as (

    select
        -- ids
        file_path,
        line_number,
        session_id,
        customer_id_as_written,

        -- text
        event_type,
        page_path,
        occurred_at_as_written,
        raw_line,
        parse_error,
        quarantine_reason,

        -- timestamps
        occurred_at,
        taken_at as quarantined_at

    from validated

)

select * from final
