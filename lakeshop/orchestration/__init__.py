"""The pipeline on Dagster: definitions.py (assets, checks, schedules, sensors, retries) and
service.py (`lakeshop orchestrate`: the UI and the daemon on 127.0.0.1, stopped by PID)."""
