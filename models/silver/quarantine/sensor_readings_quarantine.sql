{#- The sensor readings rejected, each with its file, line, the values as written and the
    rule it broke; `lakeshop events discard` writes them back to the lake's quarantine/
    prefix. -#}
with

validated as (

    select * from {{ ref('int_sensor_readings_validated') }}
    where quarantine_reason is not null

),

final as (

    select
        -- ids
        file_path,
        line_number,
        device_id,

        -- text
        reading_type,
        unit,
        value_as_written,
        recorded_at_as_written,
        raw_line,
        parse_error,
        quarantine_reason,

        -- numerics
        reading_value,

        -- timestamps
        recorded_at,
        taken_at as quarantined_at

    from validated

)

select * from final
