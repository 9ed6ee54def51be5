{#- Per device, reading type and hour: the valid readings' count, min, max and mean, and the
    readings rejected as out of range (an hour with only those is kept, with no valid
    figures). -#}
with

readings as (

    select * from {{ ref('sensor_readings') }}

),

sensor_types as (

    select * from {{ ref('sensor_types') }}

),

rejected as (

    select
        device_id,
        reading_type,
        {{ dbt.date_trunc('hour', 'recorded_at') }} as recorded_hour,
        count(*) as readings

    from {{ ref('int_sensor_readings_validated') }}
    where quarantine_reason = 'value_out_of_range' and recorded_at is not null
    group by
        device_id,
        reading_type,
        {{ dbt.date_trunc('hour', 'recorded_at') }}

),

valid as (

    select
        device_id,
        reading_type,
        recorded_hour,
        max(unit) as unit,
        count(*) as readings,
        min(reading_value) as min_value,
        max(reading_value) as max_value,
        avg(reading_value) as mean_value

    from readings
    group by device_id, reading_type, recorded_hour

),

hours as (

    select
        valid.unit,
        valid.min_value,
        valid.max_value,
        valid.mean_value,
        coalesce(valid.device_id, rejected.device_id) as device_id,
        coalesce(valid.reading_type, rejected.reading_type) as reading_type,
        coalesce(valid.recorded_hour, rejected.recorded_hour) as recorded_hour,
        coalesce(valid.readings, 0) as reading_count,
        coalesce(rejected.readings, 0) as out_of_range_count

    from valid
    full outer join rejected
        on
            valid.device_id = rejected.device_id
            and valid.reading_type = rejected.reading_type
            and valid.recorded_hour = rejected.recorded_hour

),

final as (

    select
        -- ids
        hours.device_id,

        -- text
        hours.reading_type,
        coalesce(hours.unit, sensor_types.unit) as unit,

        -- numerics
        cast(hours.reading_count as {{ dbt.type_int() }}) as reading_count,
        cast(hours.min_value as double precision) as min_value,
        cast(hours.max_value as double precision) as max_value,
        cast(hours.mean_value as double precision) as mean_value,
        cast(hours.out_of_range_count as {{ dbt.type_int() }})
            as out_of_range_count,

        -- timestamps
        hours.recorded_hour

    from hours
    left join sensor_types
        on hours.reading_type = sensor_types.reading_type

)

select * from final
