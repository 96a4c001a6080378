"""Deferrable operators run their trigger in the target and resume there, as often as they defer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from runtime_test_support import callable_from_source, run, task_context

from airflow_isolation.core import OperatorSpec

HERE = Path(__file__).resolve().parent
SENSORS = "airflow.providers.standard.sensors"


def _in_a_second() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1.5)


def test_deferrable_datetime_sensor_waits_in_the_target(tmp_path: Path) -> None:
    target = _in_a_second()
    spec = OperatorSpec(f"{SENSORS}.date_time.DateTimeSensorAsync", {"target_time": target.isoformat()})
    code, out, result = run(spec, tmp_path)
    assert code == 0, out
    assert result.status == "success", result.error
    assert dt.datetime.now(dt.timezone.utc) >= target
    assert "deferred to DateTimeTrigger (resume with execute_complete" in out
    assert "the trigger fired: resuming with execute_complete" in out


def test_deferrable_time_delta_sensor_counts_from_the_data_interval_end(tmp_path: Path) -> None:
    spec = OperatorSpec(
        f"{SENSORS}.time_delta.TimeDeltaSensor", {"delta": dt.timedelta(seconds=1), "deferrable": True}
    )
    # far enough ahead that the target, which takes seconds to import Airflow, still has to wait
    interval_end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=15)
    code, out, result = run(spec, tmp_path, context=task_context(data_interval_end=interval_end))
    assert code == 0, out
    assert result.status == "success", result.error
    assert "the trigger fired" in out


def test_an_operator_that_defers_twice_returns_its_value(tmp_path: Path) -> None:
    spec = OperatorSpec("target_operators.DefersTwice", {})
    code, out, result = run(spec, tmp_path, env={"PYTHONPATH": str(HERE)})
    assert code == 0, out
    assert result.return_value == {"seen": ["first", {"n": 2}], "ti_task": "t"}
    assert out.count("deferred to EchoTrigger (resume with step") == 2
    assert out.count("the trigger fired: resuming with step") == 2


def test_a_deferral_timeout_fails_the_task_as_airflow_does(tmp_path: Path) -> None:
    spec = OperatorSpec("target_operators.DefersForever", {})
    code, out, result = run(spec, tmp_path, env={"PYTHONPATH": str(HERE)})
    assert code == 1, out
    assert result.status == "failed" and result.error is not None
    assert result.error.type.endswith("TaskDeferralTimeout"), result.error
    assert "the deferral timed out" in out


def test_a_callable_that_defers_fails_with_a_result(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.exceptions import TaskDeferred
            from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
            import datetime
            raise TaskDeferred(trigger=TimeDeltaTrigger(datetime.timedelta(0)), method_name="x")
    """)
    code, out, result = run(fn, tmp_path)
    assert code == 1, out
    assert result.error is not None and "only an operator can defer" in result.error.message
