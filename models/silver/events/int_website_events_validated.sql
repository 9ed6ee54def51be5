{{ config(materialized="table") }}

{#- Every website event with the first validation rule it breaks (`quarantine_reason`, null
    for a valid event). The rules, in order:

    1. duplicate_file: the file repeats an earlier file's content byte for byte;
    2. malformed_line: the line did not parse (its text is kept);
    3. missing_session: no session id;
    4. unknown_event_type: not a type of the website_event_types seed;
    5. invalid_customer: a customer id that is not a whole number;
    6. invalid_timestamp: the time is not ISO 8601. -#}
with

website_events as (

    select * from {{ ref('stg_events__website_events') }}

),

files as (

    select * from {{ ref('stg_events__files') }}

),

event_types as (

    select * from {{ ref('website_event_types') }}

),

final as (

    select
        -- ids
        website_events.file_path,
        website_events.line_number,
        website_events.session_id,
        website_events.customer_id,
        website_events.product_id,
        website_events.order_id,

        -- text
        website_events.event_type,
        website_events.page_path,
        website_events.customer_id_as_written,
        website_events.occurred_at_as_written,
        website_events.raw_line,
        website_events.parse_error,
        case
            when files.duplicate_of is not null then 'duplicate_file'
            when website_events.parse_error is not null then 'malformed_line'
            when website_events.session_id is null then 'missing_session'
            when event_types.event_type is null then 'unknown_event_type'
            when
                website_events.customer_id is null
                and {{ clean_text('website_events.customer_id_as_written') }}
                is not null
                then 'invalid_customer'
            when website_events.occurred_at is null then 'invalid_timestamp'
        end as quarantine_reason,

        -- numerics
        event_types.funnel_step,

        -- timestamps
        website_events.occurred_at,
        files.taken_at

    from website_events
    left join files
        on website_events.file_path = files.file_path
    left join event_types
        on website_events.event_type = event_types.event_type

)

select * from final
