{#- Every line of the website event files, typed where it can be: an id that is not a whole
    number or a time that is not ISO 8601 becomes null here, and silver quarantines the
    line. -#}
with

source as (

    select * from {{ optional_source('events', 'website_events', {
        '_file': dbt.type_string(), '_line': dbt.type_bigint(),
        '_raw_line': dbt.type_string(), '_parse_error': dbt.type_string(),
        '_extra': dbt.type_string(), 'session_id': dbt.type_string(),
        'customer_id': dbt.type_string(), 'event_type': dbt.type_string(),
        'page': dbt.type_string(), 'product_id': dbt.type_string(),
        'order_id': dbt.type_string(), 'occurred_at': dbt.type_string(),
        '_dlt_load_id': dbt.type_string()
    }) }}

),

renamed as (

    select
        -- ids
        cast(_file as {{ dbt.type_string() }}) as file_path,
        cast(_line as {{ dbt.type_bigint() }}) as line_number,
        {{ clean_text('session_id') }} as session_id,
        {{ whole_number_text(clean_text('customer_id')) }} as customer_id,
        {{ whole_number_text(clean_text('product_id')) }} as product_id,
        {{ whole_number_text(clean_text('order_id')) }} as order_id,

        -- text
        lower({{ clean_text('event_type') }}) as event_type,
        {{ clean_text('page') }} as page_path,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id_as_written,
        cast(occurred_at as {{ dbt.type_string() }}) as occurred_at_as_written,
        cast(_raw_line as {{ dbt.type_string() }}) as raw_line,
        cast(_parse_error as {{ dbt.type_string() }}) as parse_error,

        -- timestamps
        {{ iso_timestamp(clean_text('occurred_at')) }} as occurred_at,

        -- lineage
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id

    from source

)

select * from renamed
