{#- The quintile (1 to 5) of a cumulative distribution value in (0, 1], such as
    cume_dist(): ties share a cume_dist, so equal values get the same quintile. -#}
{% macro quintile(cume_dist) -%}
    case
        when {{ cume_dist }} <= 0.2 then 1
        when {{ cume_dist }} <= 0.4 then 2
        when {{ cume_dist }} <= 0.6 then 3
        when {{ cume_dist }} <= 0.8 then 4
        else 5
    end
{%- endmacro %}
