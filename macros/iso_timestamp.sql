{#- ISO 8601 text (as event files write it: `2026-11-30T14:05:09.12Z`, an offset, or none
    for UTC) as a UTC timestamp; null when the text is not such a timestamp, on every
    adapter (a plain cast would fail the model on one bad line). -#}
{% macro iso_timestamp(expression) -%}
    case
        when {{ lakeshop.regex_matches(
            expression,
            '^[0-9]{4}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9]:[0-5][0-9]'
            ~ '([.][0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?$',
            '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]_'
            ~ '[0-2][0-9]:[0-5][0-9]:[0-5][0-9]%'
        ) }}
            then {{ lakeshop.to_utc(lakeshop.text_to_timestamptz(expression)) }}
    end
{%- endmacro %}

{% macro text_to_timestamptz(expression) -%}
    {{ return(
        adapter.dispatch('text_to_timestamptz', 'lakeshop')(expression)
    ) }}
{%- endmacro %}

{% macro default__text_to_timestamptz(expression) -%}
    cast({{ expression }} as timestamptz)
{%- endmacro %}

{% macro sqlserver__text_to_timestamptz(expression) -%}
    cast(replace({{ expression }}, 'Z', '+00:00') as datetimeoffset)
{%- endmacro %}

{#- Decimal text (`-12.5`, `1013`) as a double; null when the text is not a number. -#}
{% macro numeric_text(expression) -%}
    case
        when {{ lakeshop.regex_matches(
            expression, '^-?[0-9]+([.][0-9]+)?$', '[0-9-]%'
        ) }}
            then cast({{ expression }} as double precision)
    end
{%- endmacro %}

{#- Whole-number text (an id: `42`) as a bigint; null when the text is not one. -#}
{% macro whole_number_text(expression) -%}
    case
        when {{ lakeshop.regex_matches(expression, '^[0-9]+$', '[0-9]%') }}
            then cast({{ expression }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}
