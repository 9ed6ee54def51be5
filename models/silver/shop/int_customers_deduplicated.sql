{#- The latest change per customer, with personal data masked as it is read from bronze:
    no raw email, phone, name or birth date is written to silver (customers.yml says how
    each is masked). The masking is in the change log's read, so every later model and
    every incremental run sees only hashes, initials and years. The rows keep the salt's
    fingerprint: a build after the salt changed stops and names the full refresh that
    re-hashes them (an incremental table would otherwise mix two salts). -#}
{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

{{- salt_unchanged_since_built() -}}
{%- set email = 'lower(' ~ clean_text('email') ~ ')' -%}
{%- set phone = normalize_phone('phone') -%}
{%- set valid_email = email ~ ' is not null and ' ~ is_valid_email(email) -%}
{%- set valid_phone = phone ~ ' is not null and ' ~ regex_matches(
    phone, '^\\+?[0-9]{7,15}$', '%[0-9][0-9][0-9][0-9][0-9][0-9][0-9]%'
) -%}

{%- set masked -%}
    customer_id,
    case when {{ valid_email }} then {{ mask_pii(email) }} end as email_hash,
    case when {{ valid_phone }} then {{ mask_pii(phone) }} end as phone_hash,
    upper(substring({{ clean_text('first_name') }}, 1, 1)) as first_name_initial,
    {{ extract_year('birth_date') }} as birth_year,
    {{ as_boolean(valid_email) }} as has_valid_email,
    {{ as_boolean(valid_phone) }} as has_valid_phone,
    {{ pii_salt_fingerprint() }} as pii_salt_fingerprint,
    has_marketing_opt_in,
    created_at,
    updated_at,
    {{ cdc_column_names() }}
{%- endset -%}

{{ cdc_latest_changes('stg_mysql__customers', 'customer_id', columns=masked) }}
