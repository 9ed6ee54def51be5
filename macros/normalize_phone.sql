{#- A phone number without spaces, dashes and parentheses (so `+49 (30) 123-45` and
    `+493012345` are the same number), empty as null. -#}
{% macro normalize_phone(expression) -%}
    replace(
        replace(
            replace(replace({{ lakeshop.clean_text(expression) }}, ' ', ''), '-', ''),
            '(',
            ''
        ),
        ')',
        ''
    )
{%- endmacro %}
