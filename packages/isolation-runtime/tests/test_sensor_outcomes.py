"""Sensors end as they do natively: rescheduled with their date, timed out, or skipped (soft_fail);
and a failing task's XComs travel back, as Airflow keeps them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from runtime_test_support import callable_from_source, run, task_context

from airflow_isolation.core import OperatorSpec

PYTHON_SENSOR = "airflow.providers.standard.sensors.python.PythonSensor"
PYTHON = "airflow.providers.standard.operators.python.PythonOperator"
NOT_YET = callable_from_source("""
    def not_yet():
        return False
""")


def _sensor(**kwargs: Any) -> OperatorSpec:
    return OperatorSpec(PYTHON_SENSOR, {"python_callable": NOT_YET, **kwargs})


def test_reschedule_mode_hands_the_reschedule_date_to_the_host(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    code, out, result = run(_sensor(mode="reschedule", poke_interval=30), tmp_path)
    assert code == 1, out
    assert result.status == "failed" and result.error is not None
    assert result.error.type.endswith("AirflowRescheduleException")
    assert result.reschedule_date is not None
    assert before + dt.timedelta(seconds=29) < result.reschedule_date < before + dt.timedelta(minutes=5)
    assert "sensor rescheduled to" in out and "task failed" not in out


def test_reschedule_mode_times_out_from_the_first_reschedule(tmp_path: Path) -> None:
    first = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    code, out, result = run(
        _sensor(mode="reschedule", timeout=60), tmp_path, context=task_context(first_reschedule_date=first)
    )
    assert code == 1, out
    assert result.error is not None and result.error.type.endswith("AirflowSensorTimeout"), result.error
    assert result.reschedule_date is None


def test_poke_mode_timeout_and_soft_fail(tmp_path: Path) -> None:
    code, out, result = run(_sensor(timeout=0, poke_interval=0.1), tmp_path)
    assert result.error is not None and result.error.type.endswith("AirflowSensorTimeout"), out
    code, out, result = run(_sensor(timeout=0, poke_interval=0.1, soft_fail=True), tmp_path)
    assert (code, result.status) == (99, "skipped"), out


def test_xcoms_pushed_before_a_failure_travel_back(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f(ti):
            ti.xcom_push(key="progress", value=41)
            raise ValueError("broke after pushing")
    """)
    code, out, result = run(OperatorSpec(PYTHON, {"python_callable": fn}), tmp_path)
    assert code == 1, out
    assert result.status == "failed"
    assert [(p.key, p.value) for p in result.xcom_pushes] == [("progress", 41)]
