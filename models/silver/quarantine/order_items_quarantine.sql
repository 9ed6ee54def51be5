{#- The order items quarantined now: every column of the record as cleaned, the rule it
    broke (`quarantine_reason`) and when that finding was first detected. Fixing the record
    in the source takes it out of here and into silver on the next run; the finding stays
    in quarantine_history. -#}
with

validated as (

    select * from {{ ref('int_order_items_validated') }}
    where
        {{ is_true('is_current') }}
        and quarantine_reason is not null

),

history as (

    select * from {{ ref('quarantine_history') }}
    where entity = 'order_items'

),

first_detection as (

    select
        record_key,
        quarantine_reason,
        record_version,
        min(first_detected_at) as first_detected_at
    from history
    group by record_key, quarantine_reason, record_version

),

final as (

    select
        validated.*,
        first_detection.first_detected_at as quarantined_at
    from validated
    left join first_detection
        on
            coalesce(cast(validated.order_item_id as {{ dbt.type_string() }}), '(missing)')
            = first_detection.record_key
            and validated.quarantine_reason = first_detection.quarantine_reason
            and validated.cdc_seq = first_detection.record_version

)

select * from final
