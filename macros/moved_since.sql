{#- Whether a row of an upstream incremental model moved since this model's last build: on
    the input watermark (a new change), on the run stamp (re-validated or rebuilt in a run
    with no new change, such as a future_date order released), or because this model has
    no stamp yet (its first run with one). `watermark` and `last_stamp` are SQL values
    (previous_value()), constants in a real run, so the filter reaches the scan. -#}
{% macro moved_since(
    relation,
    watermark,
    last_stamp,
    seq_column='validated_through_seq',
    stamp_column='validated_at'
) -%}
    (
        {{ relation }}.{{ seq_column }} > {{ watermark }}
        or {{ relation }}.{{ stamp_column }} > {{ last_stamp }}
        or {{ last_stamp }} is null
    )
{%- endmacro %}
