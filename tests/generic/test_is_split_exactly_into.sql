{#- Every key of the model is in exactly one of `parts` (e.g. silver and quarantine), and
    the parts hold no key the model does not have: nothing dropped, nothing doubled. With
    `cdc_table`, the model is a change model and only its current rows count (see the
    cdc_is_current macro). Fails with one row per offending key and what is wrong. Where
    the model and every part stamp their rows (`changed_rows`), only the keys written since
    the test last passed are checked (split_test_scope). -#}
{% test is_split_exactly_into(model, column_name, parts, cdc_table=none) %}

{#- with stamped model and parts: only the keys written since the test last passed -#}
{%- set scope = lakeshop.split_test_scope(model, column_name, parts) %}

with

{% if scope %}
written as (

    {{ scope }}

),

{% endif %}
source_keys as (

    select {{ column_name }} as record_key
    {% if cdc_table %}
        from {{ model }} as latest
        where
            {{ lakeshop.cdc_is_current(cdc_table, 'latest') }}
            {% if scope %}
                and {{ column_name }} in (select written.{{ column_name }} from written)
            {% endif %}
    {% else %}
        from {{ model }}
        {% if scope %}
            where {{ column_name }} in (select written.{{ column_name }} from written)
        {% endif %}
    {% endif %}

),

part_keys as (

    {% for part in parts %}
        select
            {{ column_name }} as record_key,
            '{{ part }}' as part_name
        from {{ ref(part) }}
        {% if scope %}
            where {{ column_name }} in (select written.{{ column_name }} from written)
        {% endif %}
        {% if not loop.last %}
            union all
        {% endif %}
    {% endfor %}

),

times_found as (

    select
        record_key,
        count(*) as times
    from part_keys
    group by record_key

),

problems as (

    select
        source_keys.record_key,
        'in no part' as problem
    from source_keys
    left join times_found
        on source_keys.record_key = times_found.record_key
    where times_found.record_key is null

    union all

    select
        record_key,
        'in more than one part' as problem
    from times_found
    where times > 1

    union all

    select
        times_found.record_key,
        'not in the model' as problem
    from times_found
    left join source_keys
        on times_found.record_key = source_keys.record_key
    where source_keys.record_key is null

)

select * from problems

{% endtest %}
