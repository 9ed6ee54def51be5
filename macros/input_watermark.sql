{#- The body of a model's `run_watermark`: the highest sequence of its inputs, as `name`.
    In an incremental run only what came since the last build's `watermark` is read (every
    input's rows up to it were there then), and the watermark itself stands in when nothing
    came. `inputs` are (relation, sequence column) pairs. -#}
{% macro input_watermark(inputs, name, watermark=none) %}
    {%- set reads = [] -%}
    {%- for relation, column in inputs -%}
        {%- set since = ' where ' ~ column ~ ' > ' ~ watermark if watermark is not none else '' -%}
        {%- do reads.append('select ' ~ column ~ ' as seq from ' ~ relation ~ since) -%}
    {%- endfor -%}
    {%- if watermark is not none -%}
        {%- do reads.append('select ' ~ watermark ~ ' as seq') -%}
    {%- endif -%}
    {{ return(
        'select max(seq) as ' ~ name ~ '\n    from (\n        '
        ~ reads | join('\n        union all\n        ') ~ '\n    ) as inputs'
    ) }}
{% endmacro %}
