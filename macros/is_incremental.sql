{#- dbt's is_incremental(), except under `--vars '{offline_compile: true}'`: then false, so
    `dbt compile --no-populate-cache` renders incremental models for Redshift and SQL Server
    without a warehouse to ask whether the table exists. -#}
{% macro is_incremental() %}
    {%- if var('offline_compile', false) -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}
