{#- The orders quarantined now: every column of the record as cleaned, the rule it
    broke (`quarantine_reason`) and when that finding was first detected. Fixing the record
    in the source takes it out of here and into silver on the next run; the finding stays
    in quarantine_history. -#}

{{ current_quarantine(
    'int_orders_validated', 'orders', 'order_id', 'cdc_seq'
) }}
