{#- dbt's is_incremental(), except under `--vars '{offline_compile: true}'`: there no warehouse
    can say whether the table exists, so it is false (the full build), or true with
    `offline_incremental: true` too (the incremental branch), so `dbt compile
    --no-populate-cache` renders either branch for Redshift and SQL Server. -#}
{% macro is_incremental() %}
    {%- if var('offline_compile', false) -%}
        {{ return(var('offline_incremental', false)) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}
