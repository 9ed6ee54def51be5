{#- Every non-null value of the column lies in [min_value, max_value]; either bound may be
    left out. Fails with the offending values. -#}
{% test is_between(model, column_name, min_value=none, max_value=none) %}

select {{ column_name }} as out_of_range_value
from {{ model }}
where
    {{ column_name }} is not null
    -- a missing bound compares with null, which is never true
    and (
        {{ column_name }} < {{ 'null' if min_value is none else min_value }}
        or {{ column_name }} > {{ 'null' if max_value is none else max_value }}
    )

{% endtest %}
