{#- The files taken from the landing prefix, one row each. -#}
with

source as (

    select * from {{ optional_source('events', 'files', {
        'file_path': dbt.type_string(), 'kind': dbt.type_string(),
        'file_format': dbt.type_string(), 'size_bytes': dbt.type_bigint(),
        'modified_at': dbt.type_timestamp(), 'content_hash': dbt.type_string(),
        'line_count': dbt.type_bigint(), 'duplicate_of': dbt.type_string(),
        'taken_at': dbt.type_timestamp(), '_dlt_load_id': dbt.type_string()
    }) }}

),

renamed as (

    select
        -- ids
        cast(file_path as {{ dbt.type_string() }}) as file_path,
        cast(duplicate_of as {{ dbt.type_string() }}) as duplicate_of,

        -- text
        cast(kind as {{ dbt.type_string() }}) as file_kind,
        cast(file_format as {{ dbt.type_string() }}) as file_format,
        cast(content_hash as {{ dbt.type_string() }}) as content_hash,

        -- numerics
        cast(size_bytes as {{ dbt.type_bigint() }}) as size_bytes,
        cast(line_count as {{ dbt.type_bigint() }}) as line_count,

        -- timestamps
        {{ to_utc('modified_at') }} as modified_at,
        {{ to_utc('taken_at') }} as taken_at,

        -- lineage
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id

    from source

)

select * from renamed
