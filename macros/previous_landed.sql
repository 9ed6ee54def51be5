{#- An incremental model's watermark in the order rows landed: the highest `column` (a
    `landed_seq`, fixed-width text; with `number` a `landed_number`) it built before, '' (-1)
    when it built nothing. A table built by an older lakeshop has no such column, or holds
    `cdc_seq` values there, which do not compare with landing numbers: the build stops with
    the fix rather than read the wrong rows. -#}
{% macro previous_landed(column, number=false) %}
    {%- if execute and not var('offline_compile', false) and not (this | string).startswith('__dbt__cte__') -%}
        {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- if column | lower not in names -%}
            {{ exceptions.raise_compiler_error(
                this ~ " was built by an older lakeshop (no column " ~ column
                ~ "): run `lakeshop build --full-refresh` once"
            ) }}
        {%- endif -%}
    {%- endif -%}
    {%- set value = lakeshop.previous_value('max(' ~ column ~ ')', '-1' if number else "''") -%}
    {%- if value.startswith("'") and '.' in value -%}
        {{ exceptions.raise_compiler_error(
            this ~ " was built by an older lakeshop (its watermark " ~ column ~ " is a cdc_seq, "
            ~ value ~ "): run `lakeshop build --full-refresh` once"
        ) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}
