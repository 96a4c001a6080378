"""Running the shipped task in-process: operators under the installed Airflow 3, plain callables.

The target never renders templates (the host did, with the DAG's Jinja environment), branch
operators report their choice instead of skipping through the database, and a callable gets the
context values its parameters name.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Dict, List

import pytest
from runtime_test_support import callable_from_source, run

from airflow_isolation.core import CallableSpec, OperatorSpec, TaskContext
from airflow_isolation.runtime.facets import branch as branching
from airflow_isolation.runtime.facets.xcom import XComRecorder
from airflow_isolation.runtime.task import airflow_compat, runner
from airflow_isolation.runtime.task.context import build_context

HERE = Path(__file__).resolve().parent
PYTHON = "airflow.providers.standard.operators.python"
CTX = TaskContext(
    dag_id="d", task_id="t", run_id="r", ds="2024-01-02",
    logical_date=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
)  # fmt: skip


def _run_operator(spec: OperatorSpec) -> tuple[Any, branching.BranchRecorder]:
    info = airflow_compat.detect()
    assert info is not None
    branch = branching.BranchRecorder()
    operator = runner.build_operator(spec, CTX.task_id)
    branching.intercept_branch(operator, branch)
    context = build_context(CTX, XComRecorder(), {}, operator)
    with airflow_compat.current_context(info, context):
        return runner.run_operator(info, operator, context, print), branch


def test_branch_normalised_to_a_list_of_task_ids() -> None:
    assert branching.normalise_branch(None) == []
    assert branching.normalise_branch("a") == ["a"]
    assert branching.normalise_branch(("a", 1)) == ["a", "1"]


def test_branch_recorder_records_and_passes_the_choice_through() -> None:
    recorder = branching.BranchRecorder()
    assert recorder.branch is None
    assert recorder({}, "a") == "a"
    assert recorder.branch == ["a"]


def test_a_branch_operators_choice_is_recorded_not_applied() -> None:
    choose = callable_from_source("""
        def choose():
            return ["a", "b"]
    """)
    value, branch = _run_operator(OperatorSpec(f"{PYTHON}.BranchPythonOperator", {"python_callable": choose}))
    assert branch.branch == ["a", "b"]
    assert value == ["a", "b"]


def test_a_plain_operator_records_no_branch() -> None:
    fn = callable_from_source("""
        def f():
            return 1
    """)
    value, branch = _run_operator(OperatorSpec(f"{PYTHON}.PythonOperator", {"python_callable": fn}))
    assert (value, branch.branch) == (1, None)


def test_an_operator_that_does_not_push_returns_nothing() -> None:
    fn = callable_from_source("""
        def f():
            return 1
    """)
    spec = OperatorSpec(f"{PYTHON}.PythonOperator", {"python_callable": fn, "do_xcom_push": False})
    assert _run_operator(spec)[0] is None


def test_operator_kwargs_are_not_rendered_again() -> None:
    """``op_kwargs`` is a template field of PythonOperator: the host rendered it, so what still
    looks like a template arrives literally."""
    echo = callable_from_source("""
        def echo(day):
            return day
    """)
    spec = OperatorSpec(
        f"{PYTHON}.PythonOperator", {"python_callable": echo, "op_kwargs": {"day": "{{ ds }}"}}
    )
    assert _run_operator(spec)[0] == "{{ ds }}"


def test_a_callables_kwargs_and_return_are_not_rendered() -> None:
    fn = CallableSpec(
        name="f", source="def f(day, ds):\n    return [day, ds, '{{ ds }}']\n", kwargs={"day": "{{ ds }}"}
    )
    context = build_context(CTX, XComRecorder(), {})
    assert runner.run_callable(fn, context) == ["{{ ds }}", "2024-01-02", "{{ ds }}"]


def test_templates_arrive_literally_in_a_target_process(tmp_path: Path) -> None:
    echo = callable_from_source("""
        def echo(day):
            return day
    """)
    spec = OperatorSpec(
        f"{PYTHON}.PythonOperator", {"python_callable": echo, "op_kwargs": {"day": "{{ ds }}"}}
    )
    code, out, result = run(spec, tmp_path)
    assert code == 0, out
    assert result.return_value == "{{ ds }}"


def test_shipped_callables_nested_in_kwargs_are_loaded() -> None:
    spec = CallableSpec(name="dumps", import_path="json:dumps")
    loaded = runner.load_shipped_callables({"a": [spec, 1], "b": {"c": spec}, "d": "x"})
    assert loaded["a"][0]([1]) == "[1]" and loaded["a"][1] == 1
    assert loaded["b"]["c"] is loaded["a"][0] and loaded["d"] == "x"


def _kwargs(
    source: str, spec_kwargs: Dict[str, Any], args: list[Any], context: Dict[str, Any]
) -> Dict[str, Any]:
    spec = CallableSpec(name="f", source=source, args=args, kwargs=spec_kwargs)
    return runner.call_kwargs(runner.load_callable(spec), spec, context)


def test_parameters_named_like_context_keys_are_filled() -> None:
    context = {"ds": "2024-01-02", "ti": "TI", "params": {}}
    assert _kwargs("def f(x, ds, *, ti): pass\n", {"x": 1}, [], context) == {
        "x": 1,
        "ds": "2024-01-02",
        "ti": "TI",
    }
    assert _kwargs("def f(ds, ti): pass\n", {}, ["given"], context) == {"ti": "TI"}, "positional args win"
    assert _kwargs("def f(ds): pass\n", {"ds": "mine"}, [], context) == {"ds": "mine"}, "given kwargs win"
    assert _kwargs("def f(x, **kw): pass\n", {"x": 1, "ds": "mine"}, [], context) == {
        "x": 1, "ds": "mine", "ti": "TI", "params": {},
    }  # fmt: skip


def test_a_callable_runs_with_its_args_and_context() -> None:
    fn = CallableSpec(name="f", source="def f(a, b, ds):\n    return [a, b, ds]\n", args=[1], kwargs={"b": 2})
    assert runner.run_callable(fn, build_context(CTX, XComRecorder(), {})) == [1, 2, "2024-01-02"]


def _steps(result: Any) -> Any:
    return [push.value for push in result.xcom_pushes if push.key == "steps"][-1]


@pytest.mark.parametrize(
    ("options", "status", "steps"),
    [
        ({}, "success", ["pre_execute", "execute", "post_execute(result=None)"]),
        ({"fail": True}, "failed", ["pre_execute", "execute"]),
        (
            {"defers": True},
            "success",
            ["pre_execute", "execute", "pre_execute", "resumed", "post_execute(result=None)"],
        ),
    ],
    ids=["success", "failure", "deferral"],
)
def test_pre_and_post_execute_run_around_execute_as_airflow_3_runs_them(
    tmp_path: Path, options: Dict[str, Any], status: str, steps: List[str]
) -> None:
    """Airflow 3's task runner: ``pre_execute`` before each run of the task (a resumption is one),
    ``post_execute(context)`` without the result after the last, none after a failure; what the
    steps pushed is kept whatever the outcome."""
    spec = OperatorSpec("target_operators.RecordsSteps", options)
    _, out, result = run(spec, tmp_path, env={"PYTHONPATH": str(HERE)})
    assert result.status == status, out
    assert _steps(result) == steps
