{#- Every line of the sensor files, typed where it can be: a value that is not a number or a
    time that is not ISO 8601 becomes null here, and silver quarantines the line. -#}
with

source as (

    select * from {{ optional_source('events', 'sensor_readings', {
        '_file': dbt.type_string(), '_line': dbt.type_bigint(),
        '_raw_line': dbt.type_string(), '_parse_error': dbt.type_string(),
        '_extra': dbt.type_string(), 'device_id': dbt.type_string(),
        'reading_type': dbt.type_string(), 'value': dbt.type_string(),
        'unit': dbt.type_string(), 'recorded_at': dbt.type_string(),
        '_dlt_load_id': dbt.type_string()
    }) }}

),

renamed as (

    select
        -- ids
        cast(_file as {{ dbt.type_string() }}) as file_path,
        cast(_line as {{ dbt.type_bigint() }}) as line_number,
        {{ clean_text('device_id') }} as device_id,

        -- text
        lower({{ clean_text('reading_type') }}) as reading_type,
        {{ clean_text('unit') }} as unit,
        cast(value as {{ dbt.type_string() }}) as value_as_written,
        cast(recorded_at as {{ dbt.type_string() }}) as recorded_at_as_written,
        cast(_raw_line as {{ dbt.type_string() }}) as raw_line,
        cast(_parse_error as {{ dbt.type_string() }}) as parse_error,

        -- numerics
        {{ numeric_text(clean_text('value')) }} as reading_value,

        -- timestamps
        {{ iso_timestamp(clean_text('recorded_at')) }} as recorded_at,

        -- lineage
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id

    from source

)

select * from renamed
