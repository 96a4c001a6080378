"""Running the runtime as a target runs it: a subprocess reading a request file, writing a result."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import msgspec

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    IsolationRequest,
    IsolationResult,
    TaskContext,
    decode_result,
    encode,
)
from airflow_isolation.core.integrity import request_digest
from airflow_isolation.core.launch import REQUEST_DIGEST_ENV


def without_airflow(code: str, tmp_path: Path) -> str:
    """Run ``code`` in an interpreter that sees only the stdlib, msgspec, core and the runtime (no
    Airflow, no pendulum), as in a target built without Airflow; return its stdout."""
    import msgspec

    import airflow_isolation.core
    import airflow_isolation.runtime

    root = tmp_path / "no-airflow-path"
    (root / "airflow_isolation").mkdir(parents=True)
    (root / "msgspec").symlink_to(Path(msgspec.__file__).parent)
    for package in (airflow_isolation.core, airflow_isolation.runtime):
        (root / "airflow_isolation" / package.__name__.rpartition(".")[2]).symlink_to(
            Path(package.__file__ or "").parent
        )
    prelude = f"import sys; sys.path.insert(0, {str(root)!r})\n"
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def callable_from_source(source: str) -> CallableSpec:
    source = textwrap.dedent(source).lstrip("\n")
    name = source.split("def ", 1)[1].split("(", 1)[0]
    return CallableSpec(name=name, source=source)


def task_context(**fields: Any) -> TaskContext:
    """The context every test request carries, with ``fields`` changed."""
    base = TaskContext(
        dag_id="d", task_id="t", run_id="r", ds="2024-01-02",
        logical_date=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc), params={"p": 1},
        upstream_xcoms={"up": {"v": 7}},
    )  # fmt: skip
    return msgspec.structs.replace(base, **fields)


def _command_and_env(
    task: Any, tmp_path: Path, env: Optional[Dict[str, str]], request: Dict[str, Any]
) -> Tuple[List[str], Dict[str, str]]:
    ctx = request.pop("context", None) or task_context()
    data = encode(IsolationRequest(schema=SCHEMA_VERSION, task=task, context=ctx, **request))
    (tmp_path / "req").write_bytes(data)
    command = [sys.executable, "-m", "airflow_isolation.runtime"]
    command += ["--request", str(tmp_path / "req"), "--result", str(tmp_path / "res")]
    full_env: Dict[str, Optional[str]] = {
        "AIRFLOW_HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        REQUEST_DIGEST_ENV: request_digest(data),
        **(env or {}),
    }
    return command, {k: v for k, v in full_env.items() if v is not None}


def run(
    task: Any, tmp_path: Path, env: Optional[Dict[str, str]] = None, **request: Any
) -> Tuple[int, str, IsolationResult]:
    """Run ``task``; the request's digest is in the environment, as every backend sets it, unless
    ``env`` says otherwise (``None`` as a value removes a variable). ``context=task_context(...)``
    replaces the request's context."""
    command, full_env = _command_and_env(task, tmp_path, env, request)
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, env=full_env, check=False)
    return proc.returncode, proc.stdout + proc.stderr, decode_result((tmp_path / "res").read_bytes())


def start(
    task: Any, tmp_path: Path, env: Optional[Dict[str, str]] = None, **request: Any
) -> subprocess.Popen[str]:
    """Start ``task`` as ``run`` does, for a test that signals the target; see ``result_of``."""
    command, full_env = _command_and_env(task, tmp_path, env, request)
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env
    )


def result_of(tmp_path: Path) -> IsolationResult:
    return decode_result((tmp_path / "res").read_bytes())
