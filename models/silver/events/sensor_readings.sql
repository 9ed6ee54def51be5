{#- The valid sensor readings: one row per device, type and time. -#}
with

validated as (

    select * from {{ ref('int_sensor_readings_validated') }}
    where quarantine_reason is null

),

final as (

    select
        -- ids
        device_id,
        file_path,
        line_number,

        -- text
        reading_type,
        unit,

        -- numerics
        reading_value,

        -- timestamps
        recorded_at,
        {{ dbt.date_trunc('hour', 'recorded_at') }} as recorded_hour

    from validated

)

select * from final
