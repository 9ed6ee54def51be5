{#- What a build stamps the rows it writes with, and what its tests are marked with, taken
    from the warehouse rather than read off a clock or a loader's id.

    on-run-start (register_build) records the invocation in `audit.builds`:
      - `build_stamp`: the invocation's start, or just after the latest stamp an earlier
        build recorded when the clock says otherwise (a clock set back, a second machine
        behind the first), so stamps only grow and a row written later never looks older
        than a test mark made before it;
      - `landed_through`: the highest `landed_seq` of the change logs at that moment, the
        mark of the tests on bronze CDC models: a row numbered later is read by
        the next build's tests, whatever its load id says (a package replayed under its old
        id).
    build_stamp() is that stamp as a timestamp constant; outside a registered invocation
    (offline compile, `dbt compile`) the invocation's start. -#}
{% macro builds_relation() %}
    {{ return(api.Relation.create(
        database=target.database,
        schema=generate_schema_name('audit', none),
        identifier='builds',
    )) }}
{% endmacro %}

{% macro register_build() %}
    {%- if not execute or var('offline_compile', false)
        or flags.WHICH not in ['build', 'run', 'test', 'seed', 'snapshot'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set builds = lakeshop.builds_relation() -%}
    {%- set existing = adapter.get_relation(
        builds.database, builds.schema, builds.identifier
    ) -%}
    {%- if existing is none -%}
        {%- do adapter.create_schema(builds) -%}
        {%- do adapter.execute(
            'create table ' ~ builds ~ ' (invocation_id ' ~ dbt.type_string()
            ~ ', build_stamp ' ~ dbt.type_timestamp()
            ~ ', landed_through ' ~ dbt.type_string() ~ ')',
            auto_begin=true
        ) -%}
    {%- endif -%}
    {%- set latest = run_query(
        'select max(build_stamp) from ' ~ builds
    ).rows[0][0] -%}
    {%- set stamp = run_started_at.replace(tzinfo=none) -%}
    {%- if latest is not none and latest >= stamp -%}
        {%- set stamp = latest + modules.datetime.timedelta(milliseconds=1) -%}
    {%- endif -%}
    {%- set landed = [] -%}
    {%- set logs = graph.sources.values()
        | selectattr('source_name', 'eq', 'mysql') | list -%}
    {%- for source in logs -%}
        {%- set relation = adapter.get_relation(
            source.database, source.schema, source.identifier
        ) -%}
        {%- set names = [] -%}
        {%- if relation is not none -%}
            {%- set names = lakeshop.source_column_names(relation) -%}
        {%- endif -%}
        {%- if '_lakeshop_landed' in names -%}
            {%- do landed.append(
                'select max(_lakeshop_landed) as n from ' ~ relation
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set through = none -%}
    {%- if landed -%}
        {%- set through = run_query(
            'select max(n) from (' ~ landed | join(' union all ') ~ ') as landed'
        ).rows[0][0] -%}
    {%- endif -%}
    {%- set through_text = 'null' -%}
    {%- if through is not none -%}
        {%- set through_text = "'" ~ '%020d' % (through | int) ~ "'" -%}
    {%- endif -%}
    {%- do adapter.execute(
        'insert into ' ~ builds ~ " (invocation_id, build_stamp, landed_through) select '"
        ~ invocation_id ~ "', " ~ lakeshop.timestamp_literal(stamp) ~ ', ' ~ through_text,
        auto_begin=true
    ) -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}

{% macro build_stamp() -%}
    {%- if execute and not var('offline_compile', false) -%}
        {%- set builds = lakeshop.builds_relation() -%}
        {%- set existing = adapter.get_relation(
            builds.database, builds.schema, builds.identifier
        ) -%}
        {%- if existing is not none -%}
            {%- set found = run_query(
                'select max(build_stamp) from ' ~ builds ~ " where invocation_id = '"
                ~ invocation_id ~ "'"
            ).rows -%}
            {%- if found and found[0][0] is not none -%}
                {{ return(lakeshop.timestamp_literal(found[0][0])) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(lakeshop.run_started_at_utc()) }}
{%- endmacro %}
