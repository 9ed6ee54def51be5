{#- The model holds at least one row: a mart that comes out empty is a broken filter (a
    status literal with a typo, a join on the wrong key), not a quiet shop. Every gold mart
    carries it; a mart that may rightly be empty for a while says so with `severity: warn`.
    Fails with one row naming the model. -#}
{% test has_rows(model) %}

select '{{ model.identifier if model.identifier is defined else model }}' as empty_model
where not exists (select 1 from {{ model }})

{% endtest %}
