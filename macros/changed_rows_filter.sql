{#- The filter for the test being compiled on `relation`, '' when it reads every row (its
    model declares no `changed_rows`, the test is of another kind, or it has not passed
    since the ledger was last reset): see changed_rows_spec for the rules. The test's mark
    is read from the ledger now and written into the SQL as a constant, which every engine
    pushes into the scan (DuckDB then skips whole row groups); a subquery in its place was
    evaluated after a view's joins. A `landed` stamp (bronze CDC) is compared with the highest
    landed_seq when the build the test last passed in began (build_stamp.sql), not with a
    loader's id or a clock, which a replayed package or a clock set back carries below the
    mark. -#}
{% macro changed_rows_filter(relation) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set spec = lakeshop.changed_rows_spec(model) -%}
    {%- if spec is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set passed_at = lakeshop.test_passed_at(model) -%}
    {%- if passed_at is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- if spec.get('kind') == 'landed' -%}
        {%- set mark = lakeshop.test_landed_mark(model) -%}
    {%- else -%}
        {%- set mark = lakeshop.timestamp_literal(passed_at) -%}
    {%- endif -%}
    {%- if mark is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set stamp = spec.column -%}
    {%- set written = stamp ~ ' > ' ~ mark -%}
    {%- set name = model.test_metadata.name -%}
    {%- set kwargs = model.test_metadata.kwargs -%}
    {%- if name == 'unique' and kwargs.column_name != spec.get('unique_key') -%}
        {#- a duplicate of a changed row's key is at or above the lowest such key: the rows
            below it are skipped (all of them, where new keys come last, as in a log) -#}
        {%- set key = kwargs.column_name -%}
        {{ return(key ~ ' >= (select min(' ~ key ~ ') from ' ~ relation ~ ' where '
            ~ written ~ ')') }}
    {%- elif name == 'is_unique_combination' and kwargs.columns != spec.get('unique_key') -%}
        {%- set same = [] -%}
        {%- for column in kwargs.columns -%}
            {%- do same.append(
                '(changed.' ~ column ~ ' = scoped.' ~ column
                ~ ' or (changed.' ~ column ~ ' is null and scoped.' ~ column ~ ' is null))'
            ) -%}
        {%- endfor -%}
        {{ return(
            'exists (select 1 from ' ~ relation ~ ' as changed where changed.' ~ stamp
            ~ ' > ' ~ mark ~ ' and ' ~ same | join(' and ') ~ ')'
        ) }}
    {%- endif -%}
    {#- a property of each row, or the key the model's writes replace rows by -#}
    {{ return(written) }}
{% endmacro %}
