"""The `lakeshop` command and operations: CLI, demo, build report, alerts, docs, quality gate."""

__version__ = "0.1.0"
