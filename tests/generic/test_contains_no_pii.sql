{#- No text column of the model holds a value shaped like an email address or a phone
    number. Meant for every gold model: raw PII must stop in silver. Fails with the column
    and a sample value. Columns listed in `except_columns` are skipped. On a model that
    stamps its rows (`changed_rows`), the rows written since the test last passed. -#}
{% test contains_no_pii(model, except_columns=[]) %}

{#- on a model that stamps its rows, only the rows written since the test last passed (a
    property of each row: the others were searched by a run that passed) -#}
{%- set test = lakeshop.current_test() if execute else none -%}
{%- set tested = graph.nodes.get(test.attached_node) if test else none -%}
{%- set spec = (tested.config.meta or {}).get('changed_rows') if tested else none -%}
{%- set mark = lakeshop.test_mark(test) if spec and spec.get('kind') != 'load_id' else none -%}

{%- set text_columns = [] -%}
{%- if execute and not var('offline_compile', false) -%}
    {%- for column in adapter.get_columns_in_relation(model) -%}
        {%- if column.is_string() and column.name | lower not in except_columns -%}
            {%- do text_columns.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}

{%- if text_columns | length == 0 %}
select
    cast(null as {{ dbt.type_string() }}) as column_name,
    cast(null as {{ dbt.type_string() }}) as sample_value
where 1 = 0
{%- else %}
{%- for column in text_columns %}
select
    '{{ column }}' as column_name,
    cast({{ adapter.quote(column) }} as {{ dbt.type_string() }}) as sample_value
from {{ model }}
where
    {% if mark %}{{ spec.column }} > {{ mark }} and ({% endif %}
    {{ lakeshop.regex_matches(
        adapter.quote(column), '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}', '%_@_%._%'
    ) }}
    or {{ lakeshop.regex_matches(
        adapter.quote(column),
        '\\+?[0-9][0-9 ().-]{6,}[0-9]',
        '%[0-9][0-9][0-9][0-9][0-9][0-9][0-9]%'
    ) }}
    {% if mark %}){% endif %}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{%- endif %}

{% endtest %}
