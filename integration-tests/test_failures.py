"""Failures keep their remote traceback, and execution_timeout kills the target process."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from harness import host_env, run_dag

from airflow_isolation.core import procfs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_failure_and_timeout(tmp_path: Path, airflow_db: None, built_envs: list[str]) -> None:
    pid_file = tmp_path / "hang.pid"
    started = time.monotonic()
    env = host_env(extra={"ISOLATION_TEST_SHARED": str(tmp_path)})
    report = run_dag("failures", env, conf=json.dumps({"pid_file": str(pid_file)}))
    elapsed = time.monotonic() - started

    assert report.state("boom") == "failed", report.states
    assert "ValueError: kaboom 42" in report.output
    assert 'File "<isolated boom>"' in report.output, "the remote traceback is not in the task log"
    assert 'raise ValueError("kaboom 42")' in report.output

    assert report.state("hang") == "failed", report.states
    assert pid_file.exists(), "the hanging task never started"
    pid, namespace = pid_file.read_text().split(" ", 1)
    survivor = procfs.in_namespace(namespace, int(pid))
    assert survivor is None or not _alive(survivor), f"target process {pid} survived execution_timeout"
    assert elapsed < 300, f"the 5 s execution_timeout took {elapsed:.0f} s to end the run"
