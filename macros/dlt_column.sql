{#- A column dlt landed, typed. When a field changed type between loads, dlt keeps the new
    values in variant columns (`price__v_text`, `discount_percentage__v_double`) instead of
    failing; this coalesces the column and its variants with a safe cast, so a bad value
    becomes null here and is flagged downstream instead of breaking the model. A field the
    API never sent (no column at all) becomes a typed null. `column_names` comes from
    source_column_names(); when it is none (offline compile) the plain column is used. -#}
{% macro dlt_column(column_name, data_type, column_names) -%}
    {%- if column_names is none -%}
        cast({{ column_name }} as {{ data_type }})
    {%- else -%}
        {%- set found = [] -%}
        {%- for name in column_names -%}
            {%- if name == column_name or name.startswith(column_name ~ '__v_') -%}
                {%- do found.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if found | length == 0 -%}
            cast(null as {{ data_type }})
        {%- elif found | length == 1 and found[0] == column_name -%}
            {{ dbt.safe_cast(column_name, data_type) }}
        {%- else -%}
            coalesce(
            {%- for name in found | sort %}
                {{ dbt.safe_cast(name, data_type) }}{{ "," if not loop.last }}
            {%- endfor %}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
