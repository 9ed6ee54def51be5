{#- The node of the generic test being compiled, found by its relation name: inside a
    generic test `model` names the tested relation, not the test. None when not found. -#}
{% macro current_test() %}
    {%- set tests = graph.nodes.values() | selectattr('resource_type', 'equalto', 'test')
        | selectattr('alias', 'equalto', this.identifier) | list -%}
    {{ return(tests[0] if tests | length == 1 else none) }}
{% endmacro %}
