{#- The API users quarantined now: the user as masked, the rule it broke
    (`quarantine_reason`) and when that finding was first detected. -#}

{{ current_quarantine(
    'int_api_users_validated',
    'api_users',
    'user_id',
    'content_hash',
    current_only=false,
    history_model='api_quarantine_history',
) }}
