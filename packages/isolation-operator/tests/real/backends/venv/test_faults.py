"""Faults of the venv backend against a real built environment (see ``venv_environments``).

The target is killed with SIGKILL (by itself and from outside), runs out of a ``memory_limit``,
hangs past ``execution_timeout``, crashes before writing a result, writes half a result, and loses
its worker to SIGKILL. Each test checks the host's report and that nothing is left: no target
process, no process the task started (in a session of its own, as the BashOperator's shell is), no
run folder (which holds the request and its secrets).

The tests run as the worker is configured by default, so sandboxed where bubblewrap works: the
task then writes its PID files into the test's folder (mounted, ``_run``) as records ``task_pids``
turns into host PIDs, since the sandbox has a PID namespace of its own.
"""

from __future__ import annotations

import datetime
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any, List

import pytest
from host_worker import alive, kill_worker, start_worker, wait_for_pid, wait_until_gone, worker_log
from operator_docker_support import kill_myself, run_like_task_runner, task_context, write_half_a_result
from task_pids import host_pid, read_host_pid

from airflow_isolation.operator.backends.venv.child import DIES_WITH_WORKER
from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed, IsolatedTaskFailed
from airflow_isolation.operator.operator import IsolatedOperator

# --- callables shipped to the target (source only: imports inside) --------------------------------


def sleeper(pid_file: str, seconds: float) -> str:
    import os
    import time

    with open(pid_file, "w") as handle:
        handle.write(f"{os.getpid()} {os.readlink('/proc/self/ns/pid')}")
    print("sleeping", flush=True)
    time.sleep(seconds)
    return "rested"


def start_a_session_and(pid_file: str, wait: float, finally_file: str = "") -> str:
    """Start ``sleep`` in a session of its own, as Airflow's SubprocessHook does, then wait."""
    import os
    import subprocess
    import time

    child = subprocess.Popen(["sleep", "300"], start_new_session=True)  # keeps our stdout open
    with open(pid_file, "w") as handle:
        handle.write(f"{child.pid} {os.readlink('/proc/self/ns/pid')}")
    try:
        time.sleep(wait)
    finally:
        if finally_file:
            with open(finally_file, "w") as handle:
                handle.write("the task's finally ran")
    return "left a process behind"


def hog_memory() -> int:
    blocks = [bytearray(16 * 1024 * 1024) for _ in range(64)]  # 1 GiB of address space
    return len(blocks)


def crash() -> None:
    import os

    print("about to crash", flush=True)
    os._exit(3)


# --- helpers ---------------------------------------------------------------------------------------


def _run(python_callable: Any, *, shared: Path | None = None, **kwargs: Any) -> Any:
    """Run as Airflow's task runner would; ``shared``: a folder of the test's the task writes to."""
    if shared is not None:
        mount = {"source": str(shared), "read_only": False}
        kwargs["backend_options"] = {**kwargs.get("backend_options", {}), "mounts": [mount]}
    op = IsolatedOperator(task_id="isolated", environment="venvtest", backend="venv",
                          python_callable=python_callable, **kwargs)  # fmt: skip
    return run_like_task_runner(op, task_context(f"venvfault_{uuid.uuid4().hex[:8]}", "isolated"))


def _nothing_left(temp: Path) -> None:
    assert list(temp.glob("airflow-isolation-*")) == [], "a run folder (with the request) was left behind"


# --- tests -----------------------------------------------------------------------------------------


def test_target_killing_itself_with_sigkill(venv_env: Path) -> None:
    with pytest.raises(IsolatedTargetCrashed) as info:
        _run(kill_myself)
    message = str(info.value)
    assert (
        "ended without writing a result: it was killed by SIGKILL (signal 9), which no task can catch"
        in message
    )
    assert "out-of-memory killer" in message and "about to be killed" in message
    _nothing_left(venv_env)


def test_target_killed_from_outside(venv_env: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "target.pid"
    errors: List[BaseException] = []

    def run() -> None:
        try:
            _run(sleeper, shared=tmp_path, op_args=[str(pid_file), 120])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(read_host_pid(pid_file), signal.SIGKILL)
    thread.join(30)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], IsolatedTargetCrashed), errors
    assert "it was killed by SIGKILL (signal 9)" in str(errors[0])
    assert "sleeping" in str(errors[0])
    _nothing_left(venv_env)


def test_memory_limit_fails_the_task_with_memory_error_naming_it(venv_env: Path) -> None:
    with pytest.raises(IsolatedTaskFailed) as info:
        _run(hog_memory, backend_options={"memory_limit": "256m"})
    assert str(info.value) == (
        "builtins.MemoryError: the venv backend's memory_limit of 256m caps the task's address space: "
        "raise memory_limit in backend_options, or use less memory"
    )
    assert _run(hog_memory, backend_options={"memory_limit": "2g"}) == 64, "the limit is not the task's"
    _nothing_left(venv_env)


def test_hang_past_execution_timeout_kills_the_target(venv_env: Path, tmp_path: Path) -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout

    pid_file = tmp_path / "target.pid"
    started = time.monotonic()
    with pytest.raises(AirflowTaskTimeout):
        _run(sleeper, shared=tmp_path, op_args=[str(pid_file), 300],
             execution_timeout=datetime.timedelta(seconds=3))  # fmt: skip
    assert time.monotonic() - started < 30
    assert host_pid(pid_file.read_text()) is None, "the target survived execution_timeout"
    _nothing_left(venv_env)


def test_processes_the_task_left_are_stopped_when_it_returns(venv_env: Path, tmp_path: Path) -> None:
    """The left process holds the target's stdout: without the stop the run would last its 300 s."""
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    assert _run(start_a_session_and, shared=tmp_path, op_args=[str(pid_file), 0]) == "left a process behind"
    assert time.monotonic() - started < 60
    assert host_pid(pid_file.read_text()) is None, "a process the task started outlived it"
    _nothing_left(venv_env)


def test_hang_past_execution_timeout_stops_the_task_and_its_processes(venv_env: Path, tmp_path: Path) -> None:
    """SIGTERM reaches the task as Airflow's task runner delivers it (its ``finally`` runs), and
    the process it started in another session is stopped too."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    pid_file, finally_file = tmp_path / "child.pid", tmp_path / "finally"
    with pytest.raises(AirflowTaskTimeout):
        _run(start_a_session_and, shared=tmp_path, op_args=[str(pid_file), 300, str(finally_file)],
             execution_timeout=datetime.timedelta(seconds=3))  # fmt: skip
    assert finally_file.read_text() == "the task's finally ran"
    assert host_pid(pid_file.read_text()) is None, "a process the task started survived execution_timeout"
    _nothing_left(venv_env)


def test_crash_before_the_result(venv_env: Path) -> None:
    with pytest.raises(
        IsolatedTargetCrashed, match="ended without writing a result: it exited with code 3"
    ) as info:
        _run(crash)
    assert "about to crash" in str(info.value)
    _nothing_left(venv_env)


def test_truncated_result(venv_env: Path) -> None:
    with pytest.raises(IsolatedTargetCrashed) as info:
        _run(write_half_a_result)
    message = str(info.value)
    assert "left a truncated or corrupt result (" in message
    assert "bytes of msgpack: Input data was truncated); the target exited with code 0. The target exited " \
           "before it finished writing the result file" in message  # fmt: skip
    assert "wrote " in message  # the target's last output
    _nothing_left(venv_env)


@pytest.mark.skipif(not DIES_WITH_WORKER, reason="PR_SET_PDEATHSIG is Linux-only")
def test_worker_killed_mid_task_takes_the_target_with_it(venv_env: Path, tmp_path: Path) -> None:
    """SIGKILL of the worker: the kernel kills the target (no orphan process), and the next run on
    the machine stops what the task started in a session of its own and removes the run folder the
    worker could not (it holds the request's secrets)."""
    dag_id = f"venvworker_{uuid.uuid4().hex[:8]}"
    pid_file, child_pid_file = tmp_path / "target.pid", tmp_path / "child.pid"
    worker = start_worker(
        tmp_path, dag_id, "venv", "venvtest", pid_file=str(pid_file), child_pid_file=str(child_pid_file),
        backend_options={"warm": False},  # a warm runtime stops it at once (test_warm)
    )  # fmt: skip
    try:
        target = wait_for_pid(pid_file, worker)
        child = read_host_pid(child_pid_file)
        sandboxed = child_pid_file.read_text().split(" ", 1)[1] != os.readlink("/proc/self/ns/pid")
        assert alive(target) and alive(child)
        [left] = list(venv_env.glob("airflow-isolation-*"))
        assert (left / "request.msgpack").exists()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker_log(tmp_path, dag_id)}") from exc
    finally:
        kill_worker(worker)
    assert worker.returncode == -signal.SIGKILL
    assert wait_until_gone(target), f"target {target} outlived its worker:\n{worker_log(tmp_path, dag_id)}"
    assert left.exists(), "only a run can remove the folder of a worker killed outright"
    if sandboxed:  # its sandbox ended with the target, and everything in it
        assert wait_until_gone(child), f"process {child} of the dead worker's task outlived its sandbox"
    else:
        assert alive(child), "only a run can stop what the task of a worker killed outright started"
    assert _run(sleeper, shared=tmp_path, op_args=[str(tmp_path / "next.pid"), 0]) == "rested"
    assert wait_until_gone(child), f"process {child} started by the dead worker's task survived the sweep"
    _nothing_left(venv_env)
