{#- Tests on the rows builds changed, where a structural guarantee covers the rest.

    A model whose rows carry the build that wrote them declares it in its meta:
    `changed_rows: {column: validated_at}` (the build's stamp, as `build_stamp()` writes it:
    from the warehouse, growing whatever the clock says) or `changed_rows: {column:
    landed_number, kind: landed}` (rows the warehouse numbered as they landed, bronze CDC).
    Every write to such a model stamps the rows it writes (delete+insert replaces a key's
    row with a newly stamped one, an append adds newly stamped rows), so a row whose stamp
    is at or below the mark of the build a test last passed in is a row that test has
    already passed on, unchanged since. Its generic tests then read:

    - not_null, accepted_values, is_between (a property of each row): only the rows written
      after the test last passed (test_ledger);
    - unique, is_unique_combination on the key the model's writes replace rows by
      (`unique_key` in the spec: a delete+insert model, or a view filtering one): only the
      written rows too, since a written key's older row is gone;
    - unique on any other column: every row whose value is at least the lowest value of a
      written row (a new duplicate has at least one written row, since rows only leave or
      are replaced; the unchanged rows were unique among themselves when the test last
      passed); is_unique_combination on other columns: every row sharing a written row's
      values.

    Reconciliations (is_split_exactly_into) whose model and parts all stamp their rows read
    the keys any of them wrote (split_test_scope), as do the two singular tests comparing
    fct_orders with its lines (keys_written_since); contains_no_pii on a stamped model reads
    its written rows. Relationships and the other singular tests read everything: a row can
    break them without being written (its parent deleted). `--vars '{test_changed_rows_only: false}'` reads everything for every
    test (`lakeshop build --test-all-rows`, the daily Dagster run). -#}
{% macro changed_rows_spec(test) %}
    {%- if not var('test_changed_rows_only', true) or var('offline_compile', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set metadata = test.test_metadata if test.test_metadata is defined else none -%}
    {%- set attached = test.attached_node if test.attached_node is defined else none -%}
    {%- if not metadata or not attached or metadata.name not in [
        'not_null', 'accepted_values', 'is_between', 'unique', 'is_unique_combination'
    ] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes.get(attached) -%}
    {%- set spec = (node.config.meta or {}).get('changed_rows') if node else none -%}
    {{ return(spec) }}
{% endmacro %}
