"""How a task ends in an Airflow 2.10 and a 3.1 target, run straight through the runtime: downstream
skips, sensor reschedules, timeouts and soft_fail, and deferrals, recorded in the result the host
applies (``result_handler``). The conformance DAG runs the short circuits and a deferral in whole
DAG runs; a reschedule needs a scheduler, so its mapping is checked here."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any, Tuple

import pytest
from harness import BUILD_PATH, TEST_ENVIRONMENTS

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    IsolationRequest,
    IsolationResult,
    OperatorSpec,
    TaskContext,
    decode_result,
    encode,
)
from airflow_isolation.workspace.environment import resolve_venv

TARGETS = ["af210", "af31"]
STANDARD = "airflow.providers.standard"
NOT_YET = CallableSpec(name="not_yet", source="def not_yet():\n    return False\n")
UTC = dt.timezone.utc


def _run(
    env_name: str, spec: OperatorSpec, tmp_path: Path, **context: Any
) -> Tuple[int, str, IsolationResult]:
    python = str(resolve_venv(TEST_ENVIRONMENTS, BUILD_PATH, env_name).interpreter)
    ctx = TaskContext(
        dag_id="d", task_id="t", run_id="r", logical_date=dt.datetime(2024, 1, 2, tzinfo=UTC), **context
    )
    (tmp_path / "request").write_bytes(
        encode(IsolationRequest(schema=SCHEMA_VERSION, task=spec, context=ctx))
    )
    command = [python, "-m", "airflow_isolation.runtime", "--request", str(tmp_path / "request")]
    proc = subprocess.run(  # noqa: PLW1510 - the return code is asserted
        [*command, "--result", str(tmp_path / "result")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    return proc.returncode, proc.stdout + proc.stderr, decode_result((tmp_path / "result").read_bytes())


@pytest.mark.parametrize("env_name", TARGETS)
@pytest.mark.parametrize(
    ("ignore_rules", "skipped"), [(True, ["a", "b"]), (False, ["a"])], ids=["all", "direct"]
)
def test_short_circuit_skips(
    env_name: str, ignore_rules: bool, skipped: list[str], tmp_path: Path, built_envs: list[str]
) -> None:
    condition = CallableSpec(name="no", source="def no():\n    return False\n")
    spec = OperatorSpec(
        f"{STANDARD}.operators.python.ShortCircuitOperator",
        {"python_callable": condition, "ignore_downstream_trigger_rules": ignore_rules},
    )
    downstream = {
        "downstream_task_ids": ["a", "cleanup"],
        "flat_downstream_task_ids": ["a", "b", "cleanup"],
        "downstream_teardown_ids": ["cleanup"],
    }
    code, out, result = _run(env_name, spec, tmp_path, **downstream)
    assert (code, result.status, result.skip_downstream) == (0, "success", skipped), out
    assert "cannot be called outside TaskInstance" not in out


@pytest.mark.parametrize("env_name", TARGETS)
def test_reschedule_mode_sensor(env_name: str, tmp_path: Path, built_envs: list[str]) -> None:
    before = dt.datetime.now(UTC)
    sensor = {"python_callable": NOT_YET, "mode": "reschedule", "poke_interval": 30}
    code, out, result = _run(
        env_name, OperatorSpec(f"{STANDARD}.sensors.python.PythonSensor", sensor), tmp_path
    )
    assert code == 1 and result.error is not None, out
    assert result.error.type.endswith("AirflowRescheduleException")
    assert result.reschedule_date is not None and result.reschedule_date > before + dt.timedelta(seconds=29)


@pytest.mark.parametrize("env_name", TARGETS)
def test_reschedule_mode_timeout_counts_from_the_first_try(
    env_name: str, tmp_path: Path, built_envs: list[str]
) -> None:
    sensor = {"python_callable": NOT_YET, "mode": "reschedule", "timeout": 60}
    first = dt.datetime.now(UTC) - dt.timedelta(hours=1)
    spec = OperatorSpec(f"{STANDARD}.sensors.python.PythonSensor", sensor)
    code, out, result = _run(env_name, spec, tmp_path, first_reschedule_date=first)
    assert code == 1 and result.error is not None, out
    assert result.error.type.endswith("AirflowSensorTimeout"), result.error


@pytest.mark.parametrize("env_name", TARGETS)
def test_soft_fail_skips(env_name: str, tmp_path: Path, built_envs: list[str]) -> None:
    sensor = {"python_callable": NOT_YET, "timeout": 0, "poke_interval": 0.1, "soft_fail": True}
    code, out, result = _run(
        env_name, OperatorSpec(f"{STANDARD}.sensors.python.PythonSensor", sensor), tmp_path
    )
    assert (code, result.status) == (99, "skipped"), out


@pytest.mark.parametrize("env_name", TARGETS)
def test_deferrable_sensor_waits_in_the_target(env_name: str, tmp_path: Path, built_envs: list[str]) -> None:
    target = dt.datetime.now(UTC) + dt.timedelta(seconds=5)
    spec = OperatorSpec(
        f"{STANDARD}.sensors.date_time.DateTimeSensorAsync", {"target_time": target.isoformat()}
    )
    code, out, result = _run(env_name, spec, tmp_path)
    assert (code, result.status) == (0, "success"), out
    assert dt.datetime.now(UTC) >= target
    assert "deferred to DateTimeTrigger" in out and "the trigger fired: resuming with execute_complete" in out
