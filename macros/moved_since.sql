{#- Whether a row of an upstream incremental model moved since this model's last build: on
    the input watermark (a new change), on the run stamp (re-validated or rebuilt in a run
    with no new change, such as a future_date order released), or because this model has
    no stamp yet (its first run with one). `previous` is a one-row CTE with `watermark`
    and the model's own latest stamp as `last_stamp`. -#}
{% macro moved_since(
    relation,
    previous,
    seq_column='validated_through_seq',
    stamp_column='validated_at',
    last_stamp='last_built_at'
) -%}
    (
        {{ relation }}.{{ seq_column }} > {{ previous }}.watermark
        or {{ relation }}.{{ stamp_column }} > {{ previous }}.{{ last_stamp }}
        or {{ previous }}.{{ last_stamp }} is null
    )
{%- endmacro %}
