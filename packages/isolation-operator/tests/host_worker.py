"""A real worker process running one isolated task, for tests that kill the worker mid-task.

The worker is a separate Python process (this interpreter, the test's environment variables) that
builds an ``IsolatedOperator`` and runs it as Airflow's task runner does; the test kills it with
SIGKILL, as the kernel's out-of-memory killer or a lost node would, and checks what is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Dict

from task_pids import read_host_pid

_HERE = Path(__file__).resolve().parent

_SCRIPT = """\
import json
import sys

sys.path[:0] = [{tests!r}, {testing!r}]
from operator_docker_support import run_like_task_runner, task_context

from airflow_isolation.operator.operator import IsolatedOperator


def sleeper(pid_file, child_pid_file):
    import os
    import subprocess
    import time

    if child_pid_file:  # a process of its own session, as Airflow's SubprocessHook starts
        child = subprocess.Popen(["sleep", "300"], start_new_session=True)
        with open(child_pid_file, "w") as handle:
            handle.write(f"{{child.pid}} {{os.readlink('/proc/self/ns/pid')}}")
    if pid_file:
        with open(pid_file, "w") as handle:
            handle.write(f"{{os.getpid()}} {{os.readlink('/proc/self/ns/pid')}}")
    print("sleeping", flush=True)
    time.sleep(300)


spec = json.loads(sys.argv[1])
op = IsolatedOperator(task_id="isolated", python_callable=sleeper,
                      op_args=[spec.pop("pid_file"), spec.pop("child_pid_file")],
                      environment=spec.pop("environment"), backend=spec.pop("backend"),
                      backend_options=spec.pop("backend_options"))
run_like_task_runner(op, task_context(spec.pop("dag_id"), "isolated"))
"""


def start_worker(tmp_path: Path, dag_id: str, backend: str, environment: str, *, pid_file: str = "",
                 child_pid_file: str = "",
                 backend_options: Dict[str, Any] | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start a worker running ``sleeper``, which writes its PID to ``pid_file`` when given, after
    starting a ``sleep`` in a session of its own and writing that one's PID to ``child_pid_file``.

    PIDs are written as ``task_pids`` records, for ``wait_for_pid``; a venv task gets ``tmp_path``
    mounted, so it can write them from a sandbox (unless the test turned the sandbox off)."""
    backend_options = dict(backend_options or {})
    sandbox_off = os.environ.get("AIRFLOW__ISOLATION__VENV_SANDBOX", "").lower() == "off"
    if backend == "venv" and (pid_file or child_pid_file) and not sandbox_off:
        backend_options.setdefault("mounts", [{"source": str(tmp_path), "read_only": False}])
    script = tmp_path / f"worker_{dag_id}.py"
    script.write_text(
        textwrap.dedent(_SCRIPT.format(tests=str(_HERE), testing=str(_HERE.parents[2] / "testing")))
    )
    spec = {"dag_id": dag_id, "backend": backend, "environment": environment, "pid_file": pid_file,
            "child_pid_file": child_pid_file, "backend_options": backend_options}  # fmt: skip
    log = open(tmp_path / f"worker_{dag_id}.log", "wb")  # noqa: SIM115 - the worker writes it
    return subprocess.Popen([sys.executable, str(script), json.dumps(spec)], stdout=log, stderr=log)


def worker_log(tmp_path: Path, dag_id: str) -> str:
    return (tmp_path / f"worker_{dag_id}.log").read_text(errors="replace")


def kill_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.wait(30)


def wait_for_file(path: Path, worker: subprocess.Popen[bytes], timeout: float = 120) -> str:
    """The file's content once the task wrote it; fails when the worker ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        if worker.poll() is not None:
            raise AssertionError(
                f"the worker exited ({worker.returncode}) before the task started"
            )  # see worker_log
        time.sleep(0.1)
    raise AssertionError(f"{path} did not appear within {timeout} s")


def wait_for_pid(path: Path, worker: subprocess.Popen[bytes], timeout: float = 120) -> int:
    """The host PID of the process whose ``task_pids`` record the task wrote to ``path``."""
    wait_for_file(path, worker, timeout)
    return read_host_pid(path)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except OSError:
        return False


def wait_until_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False
