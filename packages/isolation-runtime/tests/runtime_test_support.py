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
from airflow_isolation.core.integrity import REQUEST_DIGEST_ENV, request_digest


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
