"""The host facets: one per feature of ``core.facets``, each saying whether a task needs it, shipping
its fields and applying its part of the result, in an order that lets branches and skips end the
task last."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List

import pytest
from operator_docker_support import task_context

from airflow_isolation.core import (
    SCHEMA_VERSION,
    AssetSpec,
    CallableSpec,
    IsolationRequest,
    IsolationResult,
    OperatorSpec,
    ShippedModule,
    VariableWrite,
    XComPush,
)
from airflow_isolation.core.facets import FACETS
from airflow_isolation.operator.exchange.request_builder import build_request
from airflow_isolation.operator.exchange.result_handler import apply_result
from airflow_isolation.operator.facets import HOST_FACETS, HostTask, needed_facets

SHORT_CIRCUIT = "airflow.providers.standard.operators.python.ShortCircuitOperator"
BRANCH = "airflow.providers.standard.operators.python.BranchPythonOperator"
PYTHON = "airflow.providers.standard.operators.python.PythonOperator"


def _class(path: str) -> type:
    import importlib

    module, _, name = path.rpartition(".")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


def _operator_task(path: str, **fields: Any) -> HostTask:
    spec = OperatorSpec(class_path=path, kwargs={})
    return HostTask(task_context("d", "t"), spec, wrapped_class=_class(path), class_path=path, **fields)


def _callable_task(source: str = "def f():\n    return 1\n", **fields: Any) -> HostTask:
    return HostTask(task_context("d", "t"), CallableSpec(name="f", source=source), **fields)


def _needed(task: HostTask) -> tuple[str, ...]:
    return needed_facets(task, build_request(task, [], {}))


def test_every_facet_has_one_host_half_in_its_own_module() -> None:
    assert sorted(host.facet.name for host in HOST_FACETS) == sorted(facet.name for facet in FACETS)
    for host in HOST_FACETS:
        assert type(host).__module__ == f"airflow_isolation.operator.facets.{host.facet.name}"


def test_branches_skips_and_dag_runs_to_trigger_are_applied_last() -> None:
    """On Airflow 3 each ends the task with an exception, so nothing may come after them."""
    names = [host.facet.name for host in HOST_FACETS]
    assert names[-3:] == ["branch", "downstream_skips", "dag_run_trigger"]
    assert names[0] == "openlineage", "the listener asks for lineage however the task ends"


def test_a_plain_callable_needs_only_xcom() -> None:
    assert _needed(_callable_task()) == ("xcom",)


def test_a_short_circuit_needs_downstream_skips() -> None:
    assert "downstream_skips" in _needed(_operator_task(SHORT_CIRCUIT))


def test_a_branch_operator_needs_its_branch_not_skips() -> None:
    """Its skips travel as its choice (``do_branch`` in the target), which every runtime carries."""
    needed = _needed(_operator_task(BRANCH))
    assert "branch" in needed and "downstream_skips" not in needed


def test_an_operator_that_never_skips_needs_neither() -> None:
    needed = _needed(_operator_task(PYTHON))
    assert "branch" not in needed and "downstream_skips" not in needed


def test_a_class_only_the_target_has_is_assumed_to_branch_and_skip() -> None:
    task = HostTask(task_context("d", "t"), OperatorSpec("target_only.Gate"), class_path="target_only.Gate")
    needed = _needed(task)
    assert "branch" in needed and "downstream_skips" in needed


def test_a_callable_raising_downstream_tasks_skipped_needs_downstream_skips() -> None:
    source = (
        "def f():\n"
        "    from airflow.sdk.exceptions import DownstreamTasksSkipped\n"
        "    raise DownstreamTasksSkipped(tasks=['a'])\n"
    )
    assert "downstream_skips" in _needed(_callable_task(source))


@pytest.mark.parametrize(
    ("kinds", "needed"),
    [({"xcom"}, False), ({"xcom", "variables"}, True), (set(), True), ({"variables"}, True)],
)
def test_write_back_is_needed_for_any_choice_but_the_default(kinds: set[str], needed: bool) -> None:
    task = _callable_task(write_back=frozenset(kinds))
    assert ("write_back" in _needed(task)) is needed
    options = build_request(task, [], {}).options
    assert (options.xcom_write_back, options.variable_write_back) == ("xcom" in kinds, "variables" in kinds)


def test_a_sensor_needs_sensors_and_ships_its_first_reschedule_date(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_isolation.operator import airflow_compat

    first = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(airflow_compat, "first_try_start", lambda context, retries: first)
    poking = _callable_task(sensor=True)
    assert "sensors" in _needed(poking)
    assert build_request(poking, [], {}).context.first_reschedule_date is None, "poke mode counts from now"
    rescheduled = _callable_task(sensor=True, reschedule=True)
    assert build_request(rescheduled, [], {}).context.first_reschedule_date == first


def test_shipped_modules_are_needed_when_modules_travel() -> None:
    own = [ShippedModule(path="gate.py", source=b"X = 1\n", root="dag_file")]
    task = _callable_task(own_modules=own)
    request = build_request(task, [], {})
    assert request.modules == own
    assert "shipped_modules" in needed_facets(task, request)


def test_openlineage_is_needed_when_the_listener_will_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_isolation.operator.facets import openlineage

    task = _operator_task(PYTHON)
    monkeypatch.setattr(openlineage, "listener_will_ask", lambda path: False)
    assert "openlineage" not in _needed(task)
    monkeypatch.setattr(openlineage, "listener_will_ask", lambda path: path == PYTHON)
    request = build_request(task, [], {})
    assert request.options.openlineage
    assert "openlineage" in needed_facets(task, request)


@pytest.mark.parametrize("where", ["inlets", "outlets", "triggering_asset_events"])
def test_assets_are_needed_when_the_task_has_any(where: str) -> None:
    import msgspec

    task = _callable_task()
    request = build_request(task, [], {})
    assert "assets" not in needed_facets(task, request)
    value: List[Any] = [AssetSpec(name="raw")]
    if where == "triggering_asset_events":
        from airflow_isolation.core import AssetEvent

        value = [AssetEvent(asset=AssetSpec(name="raw"))]
    with_assets = msgspec.structs.replace(
        request, context=msgspec.structs.replace(request.context, **{where: value})
    )
    assert "assets" in needed_facets(task, with_assets)


class _Recorder:
    """An operator that records what the facets apply, in order."""

    write_back = frozenset({"xcom", "variables"})
    outlets: List[Any] = []

    def __init__(self) -> None:
        self.calls: List[str] = []
        self.log = self

    def info(self, *args: Any) -> None:
        pass

    error = info

    def keep_lineage(self, report: Any) -> None:
        self.calls.append("lineage")

    def do_branch(self, context: Any, branch: Any) -> None:
        self.calls.append(f"branch {branch}")


def test_a_result_is_applied_facet_by_facet(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_isolation.operator import airflow_compat

    operator = _Recorder()
    monkeypatch.setattr(
        airflow_compat.Variable,
        "set",
        lambda key, value, description=None: operator.calls.append(f"set {key}"),
    )
    context: Dict[str, Any] = task_context("d", "t")
    result = IsolationResult(
        SCHEMA_VERSION,
        "success",
        return_value=3,
        xcom_pushes=[XComPush("k", 1)],
        variable_writes=[VariableWrite("v", "1")],
        branch=["a"],
    )
    assert apply_result(operator, context, result) == 3
    assert operator.calls == ["lineage", "set v", "branch ['a']"]
    assert context["ti"].pushed == {"k": 1}


def test_a_failed_result_applies_only_what_holds_whatever_the_outcome() -> None:
    from airflow_isolation.core import ErrorInfo
    from airflow_isolation.operator.exchange.result_handler import IsolatedTaskFailed

    operator = _Recorder()
    context: Dict[str, Any] = task_context("d", "t")
    result = IsolationResult(
        SCHEMA_VERSION,
        "failed",
        xcom_pushes=[XComPush("k", 1)],
        variable_writes=[VariableWrite("v", "1")],
        branch=["a"],
        error=ErrorInfo("builtins.ValueError", "boom", "Traceback"),
    )
    with pytest.raises(IsolatedTaskFailed, match="ValueError: boom"):
        apply_result(operator, context, result)
    assert operator.calls == ["lineage"]
    assert context["ti"].pushed == {"k": 1}


def test_the_request_has_every_facets_fields() -> None:
    """Nothing a facet contributes is lost on the way into the request."""
    task = _callable_task(own_modules=[ShippedModule(path="m.py", source=b"")], write_back=frozenset())
    request: IsolationRequest = build_request(task, [], {})
    assert request.schema == SCHEMA_VERSION
    assert [m.path for m in request.modules] == ["m.py"]
    assert request.options.xcom_write_back is False
    assert request.context.upstream_xcoms == {}


TRIGGER = "airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator"


def test_trigger_dag_run_operator_needs_dag_run_trigger_and_others_do_not() -> None:
    assert "dag_run_trigger" in _needed(_operator_task(TRIGGER))
    assert "dag_run_trigger" not in _needed(_operator_task(PYTHON))
    assert "dag_run_trigger" not in _needed(_callable_task())
    unknown = HostTask(
        task_context("d", "t"), OperatorSpec("target_only.Gate"), class_path="target_only.Gate"
    )
    assert "dag_run_trigger" in _needed(unknown)


def test_a_resumed_try_ships_the_wrapped_operators_method_and_needs_resumption() -> None:
    event = ("airflow.providers.standard.triggers.external_task.DagStateTrigger", {"run_ids": ["r"]})
    task = _operator_task(TRIGGER, resume_wrapped=("execute_complete", {"event": event}))
    request = build_request(task, [], {})
    assert request.resumption is not None
    assert (request.resumption.method, request.resumption.kwargs) == ("execute_complete", {"event": event})
    assert "resumption" in needed_facets(task, request)
    first_try = _operator_task(TRIGGER)
    assert build_request(first_try, [], {}).resumption is None
    assert "resumption" not in _needed(first_try)


def test_a_dag_run_to_trigger_is_raised_to_the_hosts_task_runner_after_the_rest() -> None:
    """The host's Airflow 3 task runner gets the exception a native TriggerDagRunOperator raises,
    after what the task pushed is applied."""
    from airflow.sdk.exceptions import DagRunTriggerException

    from airflow_isolation.core import DagRunTrigger

    operator = _Recorder()
    operator.task_id = "trigger"  # type: ignore[attr-defined]
    context: Dict[str, Any] = task_context("d", "t")
    when = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    trigger = DagRunTrigger(
        trigger_dag_id="downstream", dag_run_id="r1", conf={"a": 1}, logical_date=when,
        wait_for_completion=True, allowed_states=["success"], failed_states=["failed"],
        poke_interval=5.0, deferrable=True,
    )  # fmt: skip
    result = IsolationResult(
        SCHEMA_VERSION, "success", xcom_pushes=[XComPush("k", 1)], dag_run_trigger=trigger
    )
    with pytest.raises(DagRunTriggerException) as raised:
        apply_result(operator, context, result)
    signal = raised.value
    assert (signal.trigger_dag_id, signal.dag_run_id, signal.conf) == ("downstream", "r1", {"a": 1})
    assert (signal.logical_date, signal.wait_for_completion, signal.deferrable) == (when, True, True)
    assert (signal.allowed_states, signal.failed_states, signal.poke_interval) == (
        ["success"],
        ["failed"],
        5.0,
    )
    assert context["ti"].pushed == {"k": 1}


def test_an_airflow_2_host_refuses_a_dag_run_to_trigger_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_isolation.core import DagRunTrigger
    from airflow_isolation.operator import airflow_compat

    monkeypatch.setattr(airflow_compat, "AIRFLOW_MAJOR", 2)
    monkeypatch.setattr(airflow_compat, "AIRFLOW_VERSION", "2.10.5")
    operator = _Recorder()
    operator.task_id = "trigger"  # type: ignore[attr-defined]
    result = IsolationResult(SCHEMA_VERSION, "success", dag_run_trigger=DagRunTrigger("downstream", "r1"))
    with pytest.raises(airflow_compat.AirflowException, match="Run TriggerDagRunOperator natively"):
        apply_result(operator, task_context("d", "t"), result)


def test_an_airflow_2_host_refuses_an_isolated_trigger_dag_run_operator_when_the_dag_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_isolation.operator import IsolatedOperator, airflow_compat

    IsolatedOperator(task_id="fine", environment="plain", operator=TRIGGER, trigger_dag_id="downstream")
    monkeypatch.setattr(airflow_compat, "AIRFLOW_MAJOR", 2)
    with pytest.raises(airflow_compat.AirflowException, match=r"fine2: .*Run TriggerDagRunOperator natively"):
        IsolatedOperator(task_id="fine2", environment="plain", operator=TRIGGER, trigger_dag_id="downstream")
    IsolatedOperator(task_id="python", environment="plain", operator=PYTHON, python_callable="os:getcwd")
