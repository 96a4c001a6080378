"""What every conformance run must show, whichever host, target, Python and backend ran it.

The host-side ``check_*`` tasks of ``dags/conformance.py`` assert the values that came back; this
module asserts the task states and the log of the whole run. ``test_conformance`` and the
compatibility matrix (``test_matrix``) both judge their runs here, so every cell is held to one
set of expectations.
"""

from __future__ import annotations

import json
from typing import Dict, Set

from harness import DagRunReport, host_airflow_major

SECRET = "pw-9f8e7d6c5b4a"
CONNECTIONS: Dict[str, str] = {
    "AIRFLOW_CONN_ISOLATION_SQLITE": '{"conn_type": "sqlite", "host": ":memory:"}',
    "AIRFLOW_CONN_SECRET_DB": json.dumps(
        {"conn_type": "postgres", "host": "db.internal", "login": "etl", "password": SECRET}
    ),
}
"""The connections the conformance DAG uses, as the host's environment defines them."""
COMMON = {"produce", "consume", "returns_none", "add", "native_values", "check_values"}
COMMON |= {"square[0]", "square[1]", "square[2]", "check_mapped", "check_pushed_before_failure"}
FAILED = {"push_then_fail", "native_push_then_fail"}
WITH_AIRFLOW = {
    "bash_template_file",
    "python_operator",
    "sql_file",
    "branch",
    "left",
    "secret_probe",
    "check_operators",
    "mapped_operator[0]",
    "mapped_operator[1]",
    "check_mapped_operator",
    "deferred_sensor",
    "execute_hooks",
    "native_execute_hooks",
    "check_execute_hooks",
}
FAILED_WITH_AIRFLOW = {"execute_hooks_fail", "native_execute_hooks_fail"}
ASSET_EMITTERS = {"emit_asset_extra", "native_emit_asset_extra"}
ASSET_READERS = {"read_asset_extra", "check_asset_extras"}
SKIPPED_WITH_AIRFLOW = {"right", "skipped"}
_BELOW = ("direct", "after", "all_done", "none_failed")  # dags/conformance.py short_circuit_downstream
SHORT_CIRCUIT_STATES = {
    # a true condition skips nothing
    **{f"sc_true_{mode}_{t}": "success" for mode in ("all", "direct") for t in _BELOW},
    # ignore_downstream_trigger_rules=True skips every task downstream
    **{f"sc_false_all_{t}": "skipped" for t in _BELOW},
    # False skips the direct downstream task; trigger rules decide the rest
    "sc_false_direct_direct": "skipped",
    "sc_false_direct_after": "skipped",
    "sc_false_direct_all_done": "success",
    "sc_false_direct_none_failed": "success",
}
"""The states natively run short circuits give their downstream tasks; the isolated ones must match."""


def asset_tasks(dag_id: str) -> Set[str]:
    """The asset tasks the DAG has (``emits_asset_events`` and ``reads_asset_events`` in
    ``dags/conformance.py``): none in an Airflow 2.9 target, no readers on an Airflow 2 host."""
    if "af29" in dag_id:
        return set()
    return ASSET_EMITTERS | (ASSET_READERS if host_airflow_major() >= 3 else set())


TRIGGER_TASKS = {"trigger_dag_run", "native_trigger_dag_run", "check_trigger_dag_run"}


def trigger_tasks() -> Set[str]:
    """The ``TriggerDagRunOperator`` tasks the DAG has: an Airflow 3 host's only."""
    return TRIGGER_TASKS if host_airflow_major() >= 3 else set()


def _errors(output: str, limit: int = 80) -> str:
    """The log lines that say what went wrong: a failed task's error is rarely in the last lines."""
    words = ("error", "exception", "traceback", "failed")
    lines = [line for line in output.splitlines() if any(word in line.lower() for word in words)]
    return "\n".join(line[:500] for line in lines[:limit])


def check_conformance(report: DagRunReport, has_airflow: bool) -> None:
    """Every expected task succeeded (or was skipped, or failed on purpose), isolated tasks ended
    as their native twins did, and the connection's password stayed masked."""
    with_airflow = WITH_AIRFLOW | asset_tasks(report.dag_id) | trigger_tasks()
    expected_success = COMMON | (with_airflow if has_airflow else set())
    failed = {t: report.state(t) for t in sorted(expected_success) if report.state(t) != "success"}
    assert not failed, (
        f"tasks not successful: {failed}\nerror lines:\n{_errors(report.output)}\n"
        f"last output:\n{report.output[-4000:]}"
    )
    not_failed = {t: report.state(t) for t in sorted(FAILED) if report.state(t) != "failed"}
    assert not not_failed, f"tasks that fail on purpose did not: {not_failed}"
    if has_airflow:
        not_failed = {t: report.state(t) for t in sorted(FAILED_WITH_AIRFLOW) if report.state(t) != "failed"}
        assert not not_failed, f"tasks that fail on purpose did not: {not_failed}"
        _check_short_circuits(report)
        not_skipped = {t: report.state(t) for t in sorted(SKIPPED_WITH_AIRFLOW)}
        not_skipped = {t: state for t, state in not_skipped.items() if state != "skipped"}
        assert not not_skipped, f"tasks not skipped: {not_skipped}; all states: {report.states}"
        assert SECRET not in report.output, "a connection password reached the task log"
        assert "the password is ***" in report.output


def _check_short_circuits(report: DagRunReport) -> None:
    names = [f"short_circuit_{mode}" for mode in ("true_all", "true_direct", "false_all", "false_direct")]
    gates = {t: (report.state(t), report.state(f"native_{t}")) for t in names}
    assert all(state == ("success", "success") for state in gates.values()), gates
    states = {t: (report.state(t), report.state(f"native_{t}")) for t in sorted(SHORT_CIRCUIT_STATES)}
    unlike_native = {t: s for t, s in states.items() if s[0] != s[1]}
    assert not unlike_native, f"isolated short circuits (isolated, native) unlike native: {unlike_native}"
    wrong = {t: s[0] for t, s in states.items() if s[0] != SHORT_CIRCUIT_STATES[t]}
    assert not wrong, f"short-circuited tasks in unexpected states: {wrong}; all states: {report.states}"
