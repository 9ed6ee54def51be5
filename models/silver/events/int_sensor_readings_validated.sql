{{ config(materialized="table") }}

{#- Every sensor reading with the first validation rule it breaks (`quarantine_reason`, null
    for a valid reading). The rules, in order:

    1. duplicate_file: the file repeats an earlier file's content byte for byte;
    2. malformed_line: the line did not parse (its text is kept);
    3. missing_device: no device id;
    4. unknown_reading_type: not a type of the sensor_types seed;
    5. invalid_value: the value is not a number;
    6. wrong_unit: not the seed's unit for the type;
    7. value_out_of_range: outside the seed's plausible range for the type;
    8. invalid_timestamp: the time is not ISO 8601;
    9. duplicate_reading: the same device, type and time as an earlier valid line. -#}
with

readings as (

    select * from {{ ref('stg_events__sensor_readings') }}

),

files as (

    select * from {{ ref('stg_events__files') }}

),

sensor_types as (

    select * from {{ ref('sensor_types') }}

),

checked as (

    select
        readings.*,
        files.taken_at,
        case
            when files.duplicate_of is not null then 'duplicate_file'
            when readings.parse_error is not null then 'malformed_line'
            when readings.device_id is null then 'missing_device'
            when sensor_types.reading_type is null then 'unknown_reading_type'
            when readings.reading_value is null then 'invalid_value'
            when
                readings.unit is null or readings.unit <> sensor_types.unit
                then 'wrong_unit'
            when
                readings.reading_value < sensor_types.min_value
                or readings.reading_value > sensor_types.max_value
                then 'value_out_of_range'
            when readings.recorded_at is null then 'invalid_timestamp'
        end as rule_broken

    from readings
    left join files
        on readings.file_path = files.file_path
    left join sensor_types
        on readings.reading_type = sensor_types.reading_type

),

grouped as (

    select
        *,
        case when rule_broken is null then 0 else 1 end as rule_group

    from checked

),

ranked as (

    select
        *,
        row_number() over (
            partition by rule_group, device_id, reading_type, recorded_at
            order by file_path, line_number
        ) as repeat_number

    from grouped

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

        -- numerics
        reading_value,

        -- timestamps
        recorded_at,
        taken_at,

        -- validation
        coalesce(
            rule_broken,
            case when repeat_number > 1 then 'duplicate_reading' end
        ) as quarantine_reason

    from ranked

)

select * from final
