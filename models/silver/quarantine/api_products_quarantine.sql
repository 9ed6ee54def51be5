{#- The api products quarantined now: every column of the record as cleaned, the rule it
    broke (`quarantine_reason`) and when that finding was first detected. Fixing the record
    in the source takes it out of here and into silver on the next run; the finding stays
    in api_quarantine_history. -#}

{{ current_quarantine(
    'int_api_products_validated',
    'api_products',
    'product_id',
    'content_hash',
    current_only=false,
    history_model='api_quarantine_history',
) }}
