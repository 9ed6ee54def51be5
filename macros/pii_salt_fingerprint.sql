{#- A short fingerprint of the session's PII salt (16 hex of a SHA-256 over a fixed prefix
    and the salt: it tells two salts apart and gives nothing to reverse a hash with). An
    incremental table that hashes PII keeps it per row, so a build after the salt changed
    stops with the fix instead of mixing hashes of two salts (salt_unchanged_since_built). -#}
{% macro pii_salt_fingerprint() -%}
    substring({{ lakeshop.sha256_hex(dbt.concat(["'lakeshop pii salt fingerprint:'", lakeshop.pii_salt()])) }}, 1, 16)
{%- endmacro %}

{#- In an incremental run of a model that stores pii_salt_fingerprint: stop, naming the fix,
    when the rows it kept were hashed with another salt than the session's. -#}
{% macro salt_unchanged_since_built() %}
    {%- if not execute or var('offline_compile', false) or not is_incremental()
        or flags.WHICH not in ['run', 'build'] or (this | string).startswith('__dbt__cte__') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set kept = run_query(
        'select max(pii_salt_fingerprint), min(pii_salt_fingerprint) from ' ~ this
    ).rows[0] -%}
    {%- set now = run_query('select ' ~ lakeshop.pii_salt_fingerprint()).rows[0][0] -%}
    {%- if kept[0] is not none and (kept[0] != now or kept[1] != now) -%}
        {{ exceptions.raise_compiler_error(
            this ~ " holds PII hashed with another salt than LAKESHOP_PII_SALT now: run "
            ~ "`lakeshop build --full-refresh --select " ~ this.identifier ~ "+` once"
        ) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
