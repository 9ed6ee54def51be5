{#- The API carts quarantined now: the cart as cleaned, the rule it broke
    (`quarantine_reason`) and when that finding was first detected. -#}

{{ current_quarantine(
    'int_carts_validated', 'carts', 'cart_id', 'content_hash', current_only=false,
    history_model='api_quarantine_history',
) }}
