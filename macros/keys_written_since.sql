{#- The keys written since `test` last passed by any of `stamped` ((relation, stamp column)
    pairs), as a query, for a test that compares those relations key by key (a
    reconciliation): a key's result changes only where one of its rows is written again,
    and every key written before was compared by a run that passed. None: compare every key.
    A singular test calls it with itself (`model` there is the test). -#}
{% macro keys_written_since(test, key_column, stamped) %}
    {%- set mark = lakeshop.test_mark(test) -%}
    {%- if mark is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set written = [] -%}
    {%- for relation, stamp in stamped -%}
        {%- do written.append(
            'select ' ~ key_column ~ ' from ' ~ relation ~ ' where ' ~ stamp ~ ' > ' ~ mark
        ) -%}
    {%- endfor -%}
    {{ return(written | join(' union ')) }}
{% endmacro %}
