"""The project's own dbt-score rules (see conventions.py); loaded by [tool.dbt-score] in pyproject.toml."""
