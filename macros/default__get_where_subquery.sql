{#- dbt's wrapper of the model every generic test reads (the `where` config), with the
    changed-rows scope of changed_rows_filter added: a test on a model that declares
    `changed_rows` reads only what builds changed since it last passed, where that is
    enough. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append(where) -%}
    {%- endif -%}
    {%- set changed = lakeshop.changed_rows_filter(relation) -%}
    {%- if changed -%}
        {%- do filters.append(changed) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- set filtered -%}
            (select * from {{ relation }} as scoped where ({{ filters | join(') and (') }})) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}
