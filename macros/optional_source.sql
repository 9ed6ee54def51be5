{#- A source that may not have been landed yet (the event files: a shop without sensors or a
    web tracker has none). When its table exists this is the source relation; when it does
    not, an empty relation with the given columns (name -> type), so the models over it
    build empty instead of failing. check_raw_sources skips sources marked
    `meta: {optional: true}`. -#}
{% macro optional_source(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and not var('offline_compile', false) -%}
        {%- set found = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) -%}
        {%- if found is none -%}
            {%- set nulls = [] -%}
            {%- for name, type in columns.items() -%}
                {%- do nulls.append('cast(null as ' ~ type ~ ') as ' ~ name) -%}
            {%- endfor -%}
            {{ return('(select ' ~ (nulls | join(', ')) ~ ' where 1 = 0) as not_landed_' ~ table_name) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
