"""The run-failure alert as an operator meets it: on without being switched on, and saying
what broke (the innermost error), not only which step. Dagster's own error records, no run."""

from __future__ import annotations

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType, StepFailureData
from dagster._utils.error import SerializableErrorInfo


def test_the_failure_alert_is_on_by_default() -> None:
    # imported in the test: building the definitions sets dbt's variables in os.environ
    from lakeshop.orchestration.definitions import alert_on_run_failure

    assert alert_on_run_failure.default_status == dg.DefaultSensorStatus.RUNNING


def test_the_alert_carries_the_root_cause() -> None:
    from lakeshop.orchestration.definitions import root_cause

    http = SerializableErrorInfo("HTTPError: 500 Server Error: Internal Server Error for url: "
                                 "http://127.0.0.1:8010/products?limit=100\n", [], "HTTPError")  # fmt: skip
    step = SerializableErrorInfo("PipelineStepFailed: Pipeline execution failed at step=extract\n",
                                 [], "PipelineStepFailed", cause=http)  # fmt: skip
    wrapper = SerializableErrorInfo("dagster._core.errors.DagsterExecutionStepExecutionError: "
                                    "Error occurred while executing op ingest_api\n", [],
                                    "DagsterExecutionStepExecutionError", cause=step)  # fmt: skip
    event = DagsterEvent(
        DagsterEventType.STEP_FAILURE.value,
        "lakeshop",
        step_key="ingest_api",
        event_specific_data=StepFailureData(error=wrapper, user_failure_data=None),
    )
    assert root_cause(event).startswith("HTTPError: 500 Server Error"), root_cause(event)
    assert "\n" not in root_cause(event)
