"""What an operator skips downstream is recorded for the host, from the downstream ids it shipped.

The interpreter is this test's own (Airflow 3, where ``SkipMixin.skip`` ends the task with
``DownstreamTasksSkipped``); the Airflow 2.10 path runs in integration-tests' conformance DAG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
from runtime_test_support import callable_from_source, run, task_context

from airflow_isolation.core import OperatorSpec

HERE = Path(__file__).resolve().parent
SHORT_CIRCUIT = "airflow.providers.standard.operators.python.ShortCircuitOperator"
PYTHON = "airflow.providers.standard.operators.python.PythonOperator"
DOWNSTREAM: Dict[str, Any] = {
    "downstream_task_ids": ["a", "cleanup"],
    "flat_downstream_task_ids": ["a", "cleanup", "b", "join"],
    "downstream_teardown_ids": ["cleanup"],
}


def _condition(value: bool) -> Any:
    return callable_from_source(f"""
        def condition():
            return {value!r}
    """)


@pytest.mark.parametrize(
    ("ignore_rules", "skipped"), [(True, ["a", "b", "join"]), (False, ["a"])], ids=["all", "direct"]
)
def test_short_circuit_false_skips_what_it_skips_natively(
    tmp_path: Path, ignore_rules: bool, skipped: list[str]
) -> None:
    spec = OperatorSpec(
        SHORT_CIRCUIT,
        {"python_callable": _condition(False), "ignore_downstream_trigger_rules": ignore_rules},
    )
    code, out, result = run(spec, tmp_path, context=task_context(**DOWNSTREAM))
    assert code == 0, out
    assert result.status == "success", result.error
    assert result.skip_downstream == skipped
    assert "No downstream tasks" not in out
    assert "cannot be called outside" not in out


def test_short_circuit_true_skips_nothing(tmp_path: Path) -> None:
    spec = OperatorSpec(SHORT_CIRCUIT, {"python_callable": _condition(True)})
    code, out, result = run(spec, tmp_path, context=task_context(**DOWNSTREAM))
    assert code == 0, out
    assert (result.status, result.return_value, result.skip_downstream) == ("success", True, None)


def test_short_circuit_without_downstream_tasks_has_nothing_to_skip(tmp_path: Path) -> None:
    spec = OperatorSpec(SHORT_CIRCUIT, {"python_callable": _condition(False)})
    code, out, result = run(spec, tmp_path)
    assert code == 0, out
    assert result.skip_downstream is None
    assert "No downstream tasks; nothing to do." in out


def test_downstream_tasks_skipped_raised_by_the_task(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            try:
                from airflow.sdk.exceptions import DownstreamTasksSkipped
            except ImportError:
                from airflow.exceptions import DownstreamTasksSkipped
            raise DownstreamTasksSkipped(tasks=["a", ("b", 2)])
    """)
    code, out, result = run(OperatorSpec(PYTHON, {"python_callable": fn}), tmp_path)
    assert code == 0, out
    assert (result.status, result.skip_downstream, result.error) == ("success", ["a", "b"], None)


def test_skip_all_except_is_a_branch_for_the_host(tmp_path: Path) -> None:
    code, out, result = run(
        OperatorSpec("target_operators.SkipsAllExcept", {}), tmp_path, env={"PYTHONPATH": str(HERE)}
    )
    assert code == 0, out
    assert (result.return_value, result.branch, result.skip_downstream) == ("done", ["a"], None)
