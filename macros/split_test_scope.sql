{#- The keys an is_split_exactly_into test checks, as a query, or none for every key. When
    the model and every part declare `changed_rows` (stamped by run, not by load), the keys
    any of them wrote since the test last passed (keys_written_since). -#}
{% macro split_test_scope(model, column_name, parts) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set test = lakeshop.current_test() -%}
    {%- if test is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(test.attached_node) -%}
    {%- set stamped = [(model, (tested.config.meta or {}).get('changed_rows') if tested else none)] -%}
    {%- for part in parts -%}
        {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
            | selectattr('name', 'equalto', part) | list -%}
        {%- do stamped.append((ref(part), (nodes[0].config.meta or {}).get('changed_rows') if nodes else none)) -%}
    {%- endfor -%}
    {%- set columns = [] -%}
    {%- for relation, spec in stamped -%}
        {%- if spec is none or spec.get('kind') == 'load_id' -%}
            {{ return(none) }}
        {%- endif -%}
        {%- do columns.append((relation, spec.column)) -%}
    {%- endfor -%}
    {{ return(lakeshop.keys_written_since(test, column_name, columns)) }}
{% endmacro %}
