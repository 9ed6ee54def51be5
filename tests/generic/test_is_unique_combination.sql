{#- No two rows share the same values in `columns` (a composite primary key). Fails with
    each duplicated combination and how often it occurs. -#}
{% test is_unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
