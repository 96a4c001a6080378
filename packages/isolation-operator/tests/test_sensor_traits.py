"""A wrapped sensor makes the wrapper a sensor for the scheduler: the flags survive DAG
serialization (what the scheduler reads), the sensor's arguments show on the wrapper, and a wrapper
of anything else serializes as before."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict

import pytest

from airflow_isolation.operator import IsolatedOperator, airflow_compat
from airflow_isolation.operator.parse.sensor_traits import is_sensor, sensor_arguments

START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
SENSOR = "airflow.providers.standard.sensors.python.PythonSensor"
OPERATOR = "airflow.providers.standard.operators.python.PythonOperator"


def poke() -> bool:
    return True


def _dag_class() -> Any:
    if airflow_compat.AIRFLOW_MAJOR >= 3:
        from airflow.sdk import DAG
    else:
        from airflow import DAG
    return DAG


def _round_trip(dag: Any) -> Any:
    """The DAG as the scheduler gets it: serialized by the DAG processor, read back."""
    from airflow.serialization import serialized_objects as so

    serializer = getattr(so, "DagSerialization", None) or so.SerializedDAG
    data = serializer.to_dict(dag)
    return data, serializer.from_dict(data)


def _wrapped(**kwargs: Any) -> Dict[str, Any]:
    with _dag_class()("sensors", schedule=None, start_date=START) as dag:
        IsolatedOperator(task_id="task", environment="plain", **kwargs)
    data, scheduled = _round_trip(dag)
    encoded = next(t["__var"] for t in data["dag"]["tasks"])
    return {"dag": dag, "encoded": encoded, "task": scheduled.get_task("task")}


def _dep_names(task: Any) -> set:
    return {type(dep).__name__ for dep in task.deps}


def test_a_reschedule_mode_sensor_is_rescheduled_by_the_scheduler() -> None:
    found = _wrapped(operator=SENSOR, python_callable=poke, mode="reschedule", poke_interval=2)
    wrapper = found["dag"].get_task("task")
    assert wrapper.reschedule is True
    assert found["encoded"]["reschedule"] is True
    assert found["task"].reschedule is True
    assert "ReadyToRescheduleDep" in _dep_names(found["task"])


def test_a_poke_mode_sensor_is_a_sensor_that_is_not_rescheduled() -> None:
    found = _wrapped(operator=SENSOR, python_callable=poke)
    assert found["task"].reschedule is False
    assert "ReadyToRescheduleDep" in _dep_names(found["task"]), "every native sensor has the dependency"


def test_any_other_operator_serializes_without_sensor_flags() -> None:
    found = _wrapped(operator=OPERATOR, python_callable=poke)
    assert "reschedule" not in found["encoded"] and "_is_sensor" not in found["encoded"]
    assert "ReadyToRescheduleDep" not in _dep_names(found["task"])
    assert not getattr(found["task"], "reschedule", False)


def test_a_callable_is_no_sensor() -> None:
    found = _wrapped(python_callable=poke)
    assert found["dag"].get_task("task").reschedule is None
    assert "reschedule" not in found["encoded"]


def test_the_sensor_arguments_show_on_the_wrapper_as_on_a_native_sensor() -> None:
    wrapper = IsolatedOperator(
        task_id="s", environment="plain", operator=SENSOR, python_callable=poke, mode="reschedule",
        poke_interval=dt.timedelta(seconds=3), timeout=30, soft_fail=True, exponential_backoff=True,
    )  # fmt: skip
    assert (wrapper.mode, wrapper.poke_interval, wrapper.timeout) == ("reschedule", 3.0, 30)
    assert (wrapper.soft_fail, wrapper.exponential_backoff, wrapper.max_wait) == (True, True, None)


def test_defaults_come_from_the_sensor_constructors() -> None:
    from airflow_isolation.operator.airflow_compat import BaseSensorOperator

    class SlowSensor(BaseSensorOperator):  # type: ignore[misc]
        def __init__(self, *, poke_interval: float = 300, **kwargs: Any) -> None:
            super().__init__(poke_interval=poke_interval, **kwargs)

    found = sensor_arguments(SlowSensor, {})
    assert found["mode"] == "poke" and found["poke_interval"] == 300 and found["soft_fail"] is False


@pytest.mark.parametrize(
    ("kwargs", "expected"), [({"mode": "reschedule"}, True), ({"mode": "poke"}, True), ({}, False)]
)
def test_an_operator_unknown_on_the_host_is_a_sensor_when_given_a_mode(
    kwargs: Dict[str, Any], expected: bool
) -> None:
    assert is_sensor(None, kwargs) is expected
