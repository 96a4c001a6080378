"""``TriggerDagRunOperator`` in the target: the dag run it asks for travels to the host, and the
operator resumes in the target after the wait the host's Airflow ran (facets ``dag_run_trigger``
and ``resumption``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from runtime_test_support import callable_from_source, run

from airflow_isolation.core import DagRunTrigger, OperatorSpec, Resumption
from airflow_isolation.runtime.facets import dag_run_trigger

HERE = Path(__file__).resolve().parent
TRIGGER = "airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator"
UTC = dt.timezone.utc


def test_the_run_airflow_3_asks_its_task_runner_for_reaches_the_result(tmp_path: Path) -> None:
    spec = OperatorSpec(
        TRIGGER,
        {
            "trigger_dag_id": "downstream",
            "trigger_run_id": "from_upstream",
            "conf": {"day": "2024-01-02", "n": 3},
            "logical_date": "2024-01-02T00:00:00+00:00",
            "reset_dag_run": True,
            "wait_for_completion": True,
            "poke_interval": 2,
            "allowed_states": ["success"],
            "failed_states": ["failed", "queued"],
            "deferrable": True,
        },
    )
    _, out, result = run(spec, tmp_path)
    assert result.status == "success", out
    assert result.return_value is None
    got = result.dag_run_trigger
    assert got is not None
    assert got == DagRunTrigger(
        trigger_dag_id="downstream",
        dag_run_id="from_upstream",
        conf={"day": "2024-01-02", "n": 3},
        logical_date=dt.datetime(2024, 1, 2, tzinfo=UTC),
        run_after_date=None,
        reset_dag_run=True,
        skip_when_already_exists=False,
        wait_for_completion=True,
        allowed_states=["success"],
        failed_states=["failed", "queued"],
        poke_interval=2.0,
        deferrable=True,
        note=got.note,
    )
    assert "the host's Airflow creates it" in out


def test_a_failed_task_sends_no_run_to_trigger(tmp_path: Path) -> None:
    spec = OperatorSpec(TRIGGER, {"trigger_dag_id": "downstream", "conf": "not json {"})
    _, out, result = run(spec, tmp_path)
    assert result.status == "failed", out
    assert result.dag_run_trigger is None


@pytest.mark.parametrize(
    ("state", "status"),
    [("success", "success"), ("failed", "failed")],
)
def test_the_operator_resumes_in_the_target_with_the_hosts_event(
    tmp_path: Path, state: str, status: str
) -> None:
    """After the host's triggerer waited (``DagStateTrigger``), ``execute_complete`` judges the run
    in the target, with the operator's own allowed and failed states."""
    event = (
        "airflow.providers.standard.triggers.external_task.DagStateTrigger",
        {"dag_id": "downstream", "run_ids": ["from_upstream"], "from_upstream": state},
    )
    spec = OperatorSpec(
        TRIGGER,
        {"trigger_dag_id": "downstream", "trigger_run_id": "from_upstream", "wait_for_completion": True},
    )
    _, out, result = run(spec, tmp_path, resumption=Resumption("execute_complete", {"event": event}))
    assert result.status == status, out
    assert result.dag_run_trigger is None
    assert "resuming TriggerDagRunOperator with execute_complete" in out
    if status == "failed":
        assert result.error is not None and "failed with failed states" in result.error.message


def test_a_resumption_runs_pre_execute_then_the_method_not_execute(tmp_path: Path) -> None:
    spec = OperatorSpec("target_operators.RecordsSteps", {})
    _, out, result = run(
        spec, tmp_path, env={"PYTHONPATH": str(HERE)}, resumption=Resumption("resumed", {"event": "fired"})
    )
    assert result.status == "success", out
    steps = [push.value for push in result.xcom_pushes if push.key == "steps"][-1]
    assert steps == ["pre_execute", "resumed", "post_execute(result=None)"]


@pytest.mark.parametrize(
    ("task", "method", "refusal"),
    [
        (callable_from_source("def f():\n    return 1\n"), "resumed", "only an operator defers"),
        (
            OperatorSpec("target_operators.RecordsSteps", {}),
            "_private",
            "is no method an operator resumes with",
        ),
    ],
)
def test_a_resumption_no_host_operator_writes_is_refused(
    tmp_path: Path, task: object, method: str, refusal: str
) -> None:
    _, out, result = run(task, tmp_path, env={"PYTHONPATH": str(HERE)}, resumption=Resumption(method))
    assert result.status == "failed", out
    assert result.error is not None and refusal in result.error.message


def test_an_airflow_2_operator_fills_the_signal_from_what_it_passes_trigger_dag() -> None:
    operator = SimpleNamespace(
        reset_dag_run=False, skip_when_already_exists=True, wait_for_completion=True,
        allowed_states=["success"], failed_states=["failed"], poke_interval=30, _defer=False,
    )  # fmt: skip
    when = dt.datetime(2024, 1, 2, tzinfo=UTC)
    trigger = dag_run_trigger.from_airflow2_operator(operator, "downstream", "manual__x", {"a": 1}, when)
    assert trigger == DagRunTrigger(
        trigger_dag_id="downstream", dag_run_id="manual__x", conf={"a": 1}, logical_date=when,
        run_after_date=when, skip_when_already_exists=True, wait_for_completion=True,
        allowed_states=["success"], failed_states=["failed"], poke_interval=30.0,
    )  # fmt: skip


def test_an_airflow_2_deferrable_wait_is_refused_with_the_fix() -> None:
    operator = SimpleNamespace(wait_for_completion=True, _defer=True)
    with pytest.raises(RuntimeError, match="deferrable=False"):
        dag_run_trigger.from_airflow2_operator(operator, "downstream", "r", None, None)
