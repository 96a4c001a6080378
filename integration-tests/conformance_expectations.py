"""What every conformance run must show, whichever host, target, Python and backend ran it.

The host-side ``check_*`` tasks of ``dags/conformance.py`` assert the values that came back; this
module asserts the task states and the log of the whole run. ``test_conformance`` and the
compatibility matrix (``test_matrix``) both judge their runs here, so every cell is held to one
set of expectations.
"""

from __future__ import annotations

import json
from typing import Dict

from harness import DagRunReport

SECRET = "pw-9f8e7d6c5b4a"
CONNECTIONS: Dict[str, str] = {
    "AIRFLOW_CONN_ISOLATION_SQLITE": '{"conn_type": "sqlite", "host": ":memory:"}',
    "AIRFLOW_CONN_SECRET_DB": json.dumps(
        {"conn_type": "postgres", "host": "db.internal", "login": "etl", "password": SECRET}
    ),
}
"""The connections the conformance DAG uses, as the host's environment defines them."""
COMMON = {"produce", "consume", "returns_none", "add", "native_values", "check_values"}
COMMON |= {"square[0]", "square[1]", "square[2]", "check_mapped"}
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
}
SKIPPED_WITH_AIRFLOW = {"right", "skipped"}


def _errors(output: str, limit: int = 80) -> str:
    """The log lines that say what went wrong: a failed task's error is rarely in the last lines."""
    words = ("error", "exception", "traceback", "failed")
    lines = [line for line in output.splitlines() if any(word in line.lower() for word in words)]
    return "\n".join(line[:500] for line in lines[:limit])


def check_conformance(report: DagRunReport, has_airflow: bool) -> None:
    """Every expected task succeeded (or was skipped), and the connection's password stayed masked."""
    expected_success = COMMON | (WITH_AIRFLOW if has_airflow else set())
    failed = {t: report.state(t) for t in sorted(expected_success) if report.state(t) != "success"}
    assert not failed, (
        f"tasks not successful: {failed}\nerror lines:\n{_errors(report.output)}\n"
        f"last output:\n{report.output[-4000:]}"
    )
    if has_airflow:
        not_skipped = {t: report.state(t) for t in sorted(SKIPPED_WITH_AIRFLOW)}
        not_skipped = {t: state for t, state in not_skipped.items() if state != "skipped"}
        assert not not_skipped, f"tasks not skipped: {not_skipped}; all states: {report.states}"
        assert SECRET not in report.output, "a connection password reached the task log"
        assert "the password is ***" in report.output
