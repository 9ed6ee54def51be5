{#- Text trimmed of surrounding white space, with an empty string as null. -#}
{% macro clean_text(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}
