{#- The order a row landed in the warehouse (the `_lakeshop_landed` number the warehouse
    gives it), as fixed-width text: compared as text it orders as the number does, so the
    incremental models' watermarks stay text on every warehouse. -#}
{% macro landed_seq(column) -%}
    {{ dbt.right(dbt.concat(["'00000000000000000000'", "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")"]), 20) }}
{%- endmacro %}
