"""The runtime as a target runs it: a subprocess reading a request file and writing a result.

The interpreter is this test's own, which has the host's Airflow 3 installed: the "target with
the same Airflow version" case. Other versions are covered by integration-tests/.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from runtime_test_support import callable_from_source, run

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    ConnectionSpec,
    IsolationRequest,
    OperatorSpec,
    TaskContext,
    decode_result_json,
    encode,
)
from airflow_isolation.core.launch import REQUEST_DIGEST_ENV

STANDARD = "airflow.providers.standard.operators"
SECRET = "hunter2-but-longer"


def test_python_operator_with_context_and_xcoms(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f(ds, params, ti, logical_date):
            ti.xcom_push(key="k", value={"s": {1, 2}})
            return {"ds": ds, "p": params["p"], "up": ti.xcom_pull(task_ids="up"), "year": logical_date.year}
    """)
    code, out, result = run(
        OperatorSpec(f"{STANDARD}.python.PythonOperator", {"python_callable": fn}), tmp_path
    )
    assert code == 0, out
    assert result.return_value == {"ds": "2024-01-02", "p": 1, "up": {"v": 7}, "year": 2024}
    assert [(p.key, p.value) for p in result.xcom_pushes] == [("k", {"s": {1, 2}})]


def test_branch_is_recorded_not_applied(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def choose():
            return ["a", "b"]
    """)
    code, out, result = run(
        OperatorSpec(f"{STANDARD}.python.BranchPythonOperator", {"python_callable": fn}), tmp_path
    )
    assert code == 0, out
    assert result.branch == ["a", "b"]


def test_skip_exit_code(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.exceptions import AirflowSkipException
            raise AirflowSkipException("not today")
    """)
    code, out, result = run(
        OperatorSpec(f"{STANDARD}.python.PythonOperator", {"python_callable": fn}), tmp_path
    )
    assert code == 99, out
    assert result.status == "skipped" and result.error is not None and "not today" in result.error.message


def test_failure_keeps_traceback(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            raise KeyError("missing-key")
    """)
    code, out, result = run(fn, tmp_path)
    assert code == 1, out
    assert result.status == "failed" and result.error is not None
    assert result.error.type == "builtins.KeyError"
    assert 'File "<isolated f>", line 2, in f' in result.error.traceback


def test_connection_served_from_request_and_masked(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.sdk import BaseHook
            conn = BaseHook.get_connection("db")
            print("password:", conn.password)
            return [conn.host, conn.login, conn.port, conn.password == "hunter2-but-longer"]
    """)
    conn = ConnectionSpec(conn_id="db", conn_type="postgres", host="h", login="u", password=SECRET, port=5432)
    code, out, result = run(fn, tmp_path, connections=[conn])
    assert code == 0, out
    assert result.return_value == ["h", "u", 5432, True]
    assert SECRET not in out and "password: ***" in out


def test_missing_connection_names_the_fix(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.sdk import BaseHook
            BaseHook.get_connection("nope")
    """)
    code, _out, result = run(fn, tmp_path)
    assert code == 1
    assert result.error is not None and "nope" in result.error.message


def test_variables_are_served(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from airflow.sdk import Variable
            return Variable.get("color")
    """)
    code, out, result = run(fn, tmp_path, variables={"color": "blue"})
    assert code == 0, out
    assert result.return_value == "blue"


def test_unencodable_return_value_fails_clearly(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            import threading
            return {"lock": threading.Lock()}
    """)
    code, _out, result = run(fn, tmp_path)
    assert code == 1
    assert result.error is not None and "return_value['lock']" in result.error.message


@pytest.mark.parametrize("bad", ["def f(:\n  pass\n", "x = 1\n"])
def test_bad_callable_source(bad: str, tmp_path: Path) -> None:
    code, _out, result = run(CallableSpec(name="f", source=bad), tmp_path)
    assert code == 1
    assert result.error is not None


def _run_json(tmp_path: Path, request: bytes) -> tuple[int, str, bytes]:
    (tmp_path / "req").write_bytes(request)
    return _run_json_from(tmp_path, tmp_path / "req")


def _run_json_from(tmp_path: Path, request_file: Path) -> tuple[int, str, bytes]:
    result = tmp_path / "xcom" / "return.json"
    result.parent.mkdir()
    command = [sys.executable, "-m", "airflow_isolation.runtime", "--request", str(request_file),
               "--result", str(result), "--result-format", "json"]  # fmt: skip
    env = {"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr, result.read_bytes()


def _callable_request(source: str) -> bytes:
    ctx = TaskContext(dag_id="d", task_id="t", run_id="r")
    return encode(IsolationRequest(schema=SCHEMA_VERSION, task=callable_from_source(source), context=ctx))


def test_json_result_format_for_the_kubernetes_xcom_sidecar(tmp_path: Path) -> None:
    """The Kubernetes backend reads the result through the xcom sidecar, which carries JSON only;
    extension types (datetime, set) must still round-trip."""
    import json

    code, out, data = _run_json(tmp_path, _callable_request("""
        def f():
            import datetime as dt
            return {"when": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc), "s": {1, 2}}
    """))  # fmt: skip
    assert code == 0, out
    json.loads(data)  # plain JSON, as the sidecar's json.loads needs
    result = decode_result_json(data)
    assert result.status == "success"
    assert result.return_value == {"when": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc), "s": {1, 2}}


def test_json_result_format_on_failure_and_bad_request(tmp_path: Path) -> None:
    code, _out, data = _run_json(tmp_path, _callable_request("""
        def f():
            raise KeyError("missing-key")
    """))  # fmt: skip
    assert code == 1
    result = decode_result_json(data)
    assert result.status == "failed" and result.error is not None and "missing-key" in result.error.traceback

    (tmp_path / "bad").mkdir()
    code, _out, data = _run_json(tmp_path / "bad", b"junk")
    assert code == 2
    assert decode_result_json(data).status == "failed"


def _run_parts(tmp_path: Path, parts: dict[str, bytes]) -> tuple[int, str, bytes]:
    folder = tmp_path / "request-secrets"
    folder.mkdir()
    for name, data in parts.items():
        (folder / name).write_bytes(data)
    return _run_json_from(tmp_path, folder / "request.msgpack")


def test_a_request_delivered_in_parts_is_reassembled_in_order(tmp_path: Path) -> None:
    """Kubernetes Secrets hold 1 MiB at most: a larger request arrives as numbered parts."""
    payload = "x" * 300_000
    request = _callable_request(f"""
        def f():
            return len({payload!r})
    """)  # fmt: skip
    third = len(request) // 3 + 1
    chunks = [request[i : i + third] for i in range(0, len(request), third)]
    assert len(chunks) == 3
    parts = {f"request.msgpack.part-{i + 1:04d}-of-0003": chunk for i, chunk in enumerate(chunks)}
    code, out, data = _run_parts(tmp_path, parts)
    assert code == 0, out
    assert decode_result_json(data).return_value == 300_000


def test_an_incomplete_set_of_parts_is_a_bad_request(tmp_path: Path) -> None:
    request = _callable_request("""
        def f():
            return 1
    """)  # fmt: skip
    half = len(request) // 2
    code, out, data = _run_parts(
        tmp_path,
        {"request.msgpack.part-0001-of-0003": request[:half], "request.msgpack.part-0003-of-0003": b""},
    )
    assert code == 2, out
    assert "incomplete" in out
    assert decode_result_json(data).status == "failed"


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
