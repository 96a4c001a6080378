"""The runtime refuses a request that is not what the host wrote, and turns write-backs it cannot do
into errors naming the alternative (or buffers them when the task opted in).

The interpreter is this test's own (the host's Airflow 3 installed); the Airflow 2.10 target runs
the same rules in integration-tests/test_write_back.py.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from runtime_test_support import callable_from_source, run

from airflow_isolation.core import CallableSpec, RunOptions, VariableWrite
from airflow_isolation.core.launch import REQUEST_DIGEST_ENV

TOUCH = """
    def touch(path):
        open(path, "w").close()
        return "ran"
"""


def _touch(tmp_path: Path) -> CallableSpec:
    return msgspec.structs.replace(callable_from_source(TOUCH), args=[str(tmp_path / "marker")])


def test_matching_digest_runs(tmp_path: Path) -> None:
    code, out, result = run(_touch(tmp_path), tmp_path)
    assert code == 0, out
    assert result.return_value == "ran" and (tmp_path / "marker").exists()
    assert "not integrity-checked" not in out


@pytest.mark.parametrize("digest", ["0" * 64, "not-a-digest"])
def test_a_tampered_request_is_refused_and_never_run(digest: str, tmp_path: Path) -> None:
    code, out, result = run(_touch(tmp_path), tmp_path, env={REQUEST_DIGEST_ENV: digest})
    assert code == 2, out
    assert result.status == "failed" and result.error is not None
    assert result.error.type.endswith("RequestIntegrityError")
    assert "does not match the SHA-256 the host computed" in result.error.message
    assert not (tmp_path / "marker").exists(), "the task ran from a request that failed the check"


def test_a_host_without_digest_is_still_served_and_said_so(tmp_path: Path) -> None:
    code, out, _result = run(_touch(tmp_path), tmp_path, env={REQUEST_DIGEST_ENV: None})
    assert code == 0, out
    assert "the request is not integrity-checked" in out


SET_VARIABLE = """
    def f():
        from airflow.sdk import Variable
        Variable.set("day", "2024-01-02", description="from the target")
        Variable.set("cfg", {"n": [1]}, serialize_json=True)
        return [Variable.get("day"), Variable.get("cfg", deserialize_json=True)]
"""


def test_variable_set_is_refused_without_opt_in(tmp_path: Path) -> None:
    code, out, result = run(callable_from_source(SET_VARIABLE), tmp_path)
    assert code == 1, out
    assert result.error is not None and result.error.type.endswith("WriteBackRefused")
    assert "Variable.set('day') cannot run in an isolated task" in result.error.message
    assert 'write_back=["xcom", "variables"]' in result.error.message
    assert result.variable_writes == []


def test_variable_set_is_buffered_with_opt_in(tmp_path: Path) -> None:
    code, out, result = run(
        callable_from_source(SET_VARIABLE), tmp_path, options=RunOptions(variable_write_back=True)
    )
    assert code == 0, out
    assert result.return_value == ["2024-01-02", {"n": [1]}]
    assert result.variable_writes == [
        VariableWrite("day", "2024-01-02", "from the target"),
        VariableWrite("cfg", '{\n  "n": [\n    1\n  ]\n}', None),
    ]


def test_models_variable_and_delete_are_covered_too(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.models.variable import Variable
            Variable.set("a", 1)
            Variable.delete("a")
    """)
    code, out, result = run(fn, tmp_path, options=RunOptions(variable_write_back=True))
    assert code == 1, out
    assert result.error is not None and "Variable.delete('a') cannot run" in result.error.message
    assert result.variable_writes == [], "writes of a failed task are not sent back"


def test_database_sessions_are_refused(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.utils.session import create_session
            with create_session() as session:
                session.get_bind()
    """)
    code, out, result = run(fn, tmp_path)
    assert code == 1, out
    assert result.error is not None
    assert "opened an Airflow metadata database session" in result.error.message


def test_xcom_push_can_be_turned_off(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f(ti):
            ti.xcom_push(key="k", value=1)
    """)
    code, out, result = run(fn, tmp_path, options=RunOptions(xcom_write_back=False))
    assert code == 1, out
    assert result.error is not None
    assert "ti.xcom_push(key='k') is turned off for this task" in result.error.message
