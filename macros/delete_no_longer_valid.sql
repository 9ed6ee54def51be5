{#- A fact's post-hook: removes the rows whose silver row, re-validated since the fact's
    last build, is no longer current and valid (deleted, or quarantined). Only rows that
    moved can have left; reading the whole fact against the whole silver view did the same
    work for every row. What the last build saw is read from the rows this invocation did
    not write (a run rewrites the rows it builds, stamped with its start), as constants. -#}
{% macro delete_no_longer_valid(key_column, validated_model) %}
    {%- if not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set before = 'built_at < ' ~ lakeshop.build_stamp() -%}
    {%- set watermark = lakeshop.previous_value(
        'max(case when ' ~ before ~ ' then built_through_seq end)', "''"
    ) -%}
    {%- set last_built_at = lakeshop.previous_value(
        'max(case when ' ~ before ~ ' then built_at end)', 'null'
    ) -%}
delete from {{ this }}
where {{ key_column }} in (
    select validated.{{ key_column }}
    from {{ ref(validated_model) }} as validated
    where
        {{ lakeshop.moved_since('validated', watermark, last_built_at) }}
        and not (
            {{ lakeshop.is_true('validated.is_current') }}
            and validated.quarantine_reason is null
        )
)
{% endmacro %}
