{#- The lower-cased column names of a relation, or none when they cannot be known: at parse
    time, or under the offline compile for warehouses that cannot be reached. -#}
{% macro source_column_names(relation) -%}
    {%- if not execute or var('offline_compile', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}
