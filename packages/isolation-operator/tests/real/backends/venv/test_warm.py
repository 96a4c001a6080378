"""The venv backend's warm runtime against a real built environment (see ``venv_environments``).

Each task returns its parent's PID: a warm child's parent is the warm runtime, a cold target's is
this process. The tests check that tasks run warm, concurrently and correctly, that a warm runtime
killed mid-task or replaced by a rebuild costs no task, that another uid cannot use it, that a
task leaves nothing behind for the next one, and that it never holds a task's secret.
"""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from host_worker import alive, kill_worker, start_worker, wait_for_pid, wait_until_gone, worker_log
from operator_docker_support import TestEnvironments, run_like_task_runner, task_context
from task_pids import read_host_pid
from warm_runtimes import stop_warm_runtimes, warm_runtimes

from airflow_isolation.core import procfs
from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed, IsolatedTaskFailed
from airflow_isolation.operator.operator import IsolatedOperator
from airflow_isolation.workspace.environment import read_manifest
from airflow_isolation.workspace.warm import build_key, running, socket_folder

# --- callables shipped to the target (source only: imports inside) --------------------------------


def whoami(x: int) -> Tuple[int, int, str]:
    import os
    import sys

    return x + 1, os.getppid(), sys.prefix


def sleep_then_answer(pid_file: str, seconds: float) -> int:
    import os
    import time

    with open(pid_file, "w") as handle:
        handle.write(str(os.getpid()))
    print("sleeping", flush=True)
    time.sleep(seconds)
    return 42


def leave_a_mess() -> int:
    import json
    import os
    import threading
    import time

    threading.Thread(target=time.sleep, args=(600,), name="leaked-thread").start()
    json.LEAKED = "yes"  # type: ignore[attr-defined]
    os.environ["LEAKED_VARIABLE"] = "yes"
    return os.getppid()


def look_for_the_mess() -> Dict[str, Any]:
    import json
    import os
    import threading

    return {
        "threads": sorted(t.name for t in threading.enumerate()),
        "global": getattr(json, "LEAKED", None),
        "env": os.environ.get("LEAKED_VARIABLE"),
        "parent": os.getppid(),
    }


def print_the_password() -> int:
    import os

    print("the password is s3cr3t-warm-9d41", flush=True)
    return os.getppid()


def fork_a_daemon(pid_file: str, ending: str) -> int:
    import os
    import signal
    import time

    if os.fork() == 0:  # fork without exec, leave the group, fork again: a daemon without the run marker
        os.setsid()
        if os.fork() == 0:
            with open(pid_file + ".tmp", "w") as handle:
                handle.write(str(os.getpid()))
            os.rename(pid_file + ".tmp", pid_file)
            time.sleep(300)
        os._exit(0)
    while not os.path.exists(pid_file):
        time.sleep(0.01)
    if ending == "failure":
        raise RuntimeError("failed on purpose")
    if ending == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if ending == "timeout":
        time.sleep(300)
    return int(open(pid_file).read())


def hog_memory() -> int:
    blocks = [bytearray(16 * 1024 * 1024) for _ in range(64)]  # 1 GiB of address space
    return len(blocks)


# --- helpers ---------------------------------------------------------------------------------------


def _run(python_callable: Any, environment: str = "venvtest", **kwargs: Any) -> Any:
    op = IsolatedOperator(task_id="warm", environment=environment, backend="venv",
                          python_callable=python_callable, **kwargs)  # fmt: skip
    return run_like_task_runner(op, task_context(f"warm_{uuid.uuid4().hex[:8]}", "warm"))


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.fixture
def warm(
    venv_env: Path, venv_environments: TestEnvironments, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The socket folder of the test's warm runtimes (under the build path); stops them afterwards.

    Unsandboxed: these tests check the warm runtime's own mechanics by the PIDs and parents the
    host sees, which a sandbox's PID namespace hides. The sandboxed warm runtime, the default, is
    what ``integration-tests/test_trust_venv.py`` and the rest of the integration suite run.
    """
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("AIRFLOW__ISOLATION__VENV_SANDBOX", "off")
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "True")
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME_IDLE_SECONDS", "120")
    folder = socket_folder(venv_environments.builds)
    yield folder
    stop_warm_runtimes(folder)


@pytest.fixture
def sandboxed_warm(
    venv_env: Path, venv_environments: TestEnvironments, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """As ``warm``, with the sandbox this machine gives (the default, ``venv_sandbox = auto``)."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("AIRFLOW__ISOLATION__VENV_SANDBOX", raising=False)
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "True")
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME_IDLE_SECONDS", "120")
    folder = socket_folder(venv_environments.builds)
    yield folder
    stop_warm_runtimes(folder)


# --- tests -----------------------------------------------------------------------------------------


def write_down(folder: str, x: int) -> Tuple[int, int, str]:
    import os
    import sys

    with open(os.path.join(folder, f"{x}.txt"), "w") as handle:
        handle.write(str(x))
    return x + 1, os.getppid(), sys.prefix


def test_fifty_sandboxed_tasks_at_once_in_one_warm_runtime(sandboxed_warm: Path, tmp_path: Path) -> None:
    """Each of fifty concurrent tasks gets its own request and result, through one warm runtime's
    sandbox (its children's parent, numbered in the sandbox's PID namespace, is one process), and
    writes into the folder it mounts."""
    mount = {"mounts": [{"source": str(tmp_path), "read_only": False}]}
    first, server, _ = _run(write_down, op_args=[str(tmp_path), 0], backend_options=mount)
    results: Dict[int, Any] = {}
    errors: List[BaseException] = []

    def one(n: int) -> None:
        try:
            results[n] = _run(write_down, op_args=[str(tmp_path), n], backend_options=mount)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    assert sorted(int(p.read_text()) for p in tmp_path.glob("*.txt")) == list(range(50))
    assert first == 1 and sorted(value for value, _, _ in results.values()) == list(range(1, 51))
    assert {parent for _, parent, _ in results.values()} == {server}, "some tasks did not run warm"


def test_tasks_run_warm_and_fifty_at_once_are_all_correct(warm: Path) -> None:
    first, server, _ = _run(whoami, op_args=[0])
    assert first == 1 and server != os.getpid(), "the first task did not run in a warm child"
    results: Dict[int, Any] = {}
    errors: List[BaseException] = []

    def one(n: int) -> None:
        try:
            results[n] = _run(whoami, op_args=[n])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    assert sorted(value for value, _, _ in results.values()) == list(range(1, 51))
    assert {parent for _, parent, _ in results.values()} == {server}, "some tasks did not run warm"


def test_warm_off_per_task_and_per_worker(
    warm: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Each task's log says how it started, and what turned warm starts off."""
    assert _run(whoami, op_args=[1])[1] != os.getpid()
    assert "started warm: a child (pid " in "".join(capfd.readouterr())
    assert _run(whoami, op_args=[1], backend_options={"warm": False})[1] == os.getpid()
    said = "".join(capfd.readouterr())
    assert "starting cold: this task turns warm starts off (backend_options={'warm': False})" in said
    assert "started warm" not in said
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "False")
    assert _run(whoami, op_args=[1])[1] == os.getpid()
    assert "starting cold: warm starts are off on this worker" in "".join(capfd.readouterr())


def test_warm_runtime_killed_mid_task(warm: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "task.pid"
    answers: List[Any] = []
    thread = threading.Thread(
        target=lambda: answers.append(_run(sleep_then_answer, op_args=[str(pid_file), 3]))
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    task = int(pid_file.read_text())
    server = _parent_of(task)
    assert server != os.getpid()
    os.kill(server, signal.SIGKILL)
    thread.join(60)
    assert answers == [42], "the task did not end correctly after its warm runtime died"
    value, parent, _ = _run(whoami, op_args=[5])
    assert value == 6 and parent != server


def test_rebuilt_environment_runs_in_the_new_build(
    warm: Path, venv_environments: TestEnvironments, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = venv_environments.definitions / "warmrebuild"
    definition.mkdir(exist_ok=True)
    isolationctl = shutil.which("isolationctl", path=str(Path(sys.executable).parent)) or "isolationctl"

    def build(description: str) -> None:
        (definition / "environment.toml").write_text(f'python = "3.11"\ndescription = "{description}"\n')
        command = [isolationctl, "env", "build", "warmrebuild", "--target", "venv",
                   "--path", str(venv_environments.definitions),
                   "--build-path", str(venv_environments.builds)]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    build("first")
    _, first_server, first_prefix = _run(whoami, "warmrebuild", op_args=[0])
    build("second")
    _, second_server, second_prefix = _run(whoami, "warmrebuild", op_args=[0])
    manifest = read_manifest(venv_environments.builds, "warmrebuild")
    assert manifest is not None and second_prefix == manifest.venv_path != first_prefix
    assert second_server not in (first_server, os.getpid())


def test_another_uid_cannot_use_it(warm: Path, venv_environments: TestEnvironments) -> None:
    _run(whoami, op_args=[0])
    manifest = read_manifest(venv_environments.builds, "venvtest")
    assert manifest is not None
    path = warm / f"{build_key(manifest)}.sock"
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600 and (warm.stat().st_mode & 0o777) == 0o700

    def connect_as_nobody() -> str:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                os.setgid(65534)
                os.setuid(65534)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(10)
                sock.connect(str(path))
                outcome = "answered" if sock.recv(1) else "closed"
            except PermissionError:
                outcome = "permission denied"
            except ConnectionResetError:
                outcome = "closed"
            except BaseException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            os.write(write, outcome.encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as handle:
            outcome = handle.read()
        os.waitpid(pid, 0)
        return outcome

    assert connect_as_nobody() == "permission denied"
    parents = [warm, *warm.parents]
    modes = {p: p.stat().st_mode for p in parents}
    try:  # even with the folder and socket open to all, the runtime itself refuses the uid
        for p in parents:
            os.chmod(p, modes[p] | 0o005)
        os.chmod(path, 0o666)
        assert connect_as_nobody() == "closed"
    finally:
        for p in parents:
            os.chmod(p, modes[p])
        os.chmod(path, 0o600)
    assert _run(whoami, op_args=[1])[0] == 2


def test_a_task_leaves_nothing_for_the_next(warm: Path) -> None:
    server = _run(leave_a_mess)
    seen = _run(look_for_the_mess)
    assert seen["parent"] == server != os.getpid()
    assert "leaked-thread" not in seen["threads"]
    assert seen["global"] is None and seen["env"] is None


def test_no_secret_reaches_the_warm_runtime(warm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password = "s3cr3t-warm-9d41"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f"postgres://loader:{password}@db.internal:5432/dw")
    server = _run(print_the_password, connections=["warehouse"])
    assert server != os.getpid()
    seen = Path(f"/proc/{server}/environ").read_bytes() + Path(f"/proc/{server}/cmdline").read_bytes()
    seen += b"".join(log.read_bytes() for log in warm.glob("*.log"))
    assert password.encode() not in seen


def test_execution_timeout_stops_a_warm_task(warm: Path, tmp_path: Path) -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout

    pid_file = tmp_path / "task.pid"
    with pytest.raises(AirflowTaskTimeout):
        _run(sleep_then_answer, op_args=[str(pid_file), 300], execution_timeout=datetime.timedelta(seconds=3))
    assert wait_until_gone(int(pid_file.read_text())), "the warm child survived execution_timeout"
    assert _run(whoami, op_args=[1])[0] == 2


def test_memory_limit_applies_to_the_warm_child(warm: Path) -> None:
    with pytest.raises(IsolatedTaskFailed, match="memory_limit of 256m"):
        _run(hog_memory, backend_options={"memory_limit": "256m"})
    assert _run(whoami, op_args=[1])[0] == 2, "the limit stayed with the warm runtime"
    assert all(alive(pid) for pid in warm_runtimes(warm))


def test_task_dies_with_its_worker_even_when_the_warm_runtime_died_first(warm: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "task.pid"
    dag_id = f"warm_{uuid.uuid4().hex[:8]}"
    worker = start_worker(tmp_path, dag_id, "venv", "venvtest", pid_file=str(pid_file))
    try:
        task = wait_for_pid(pid_file, worker)
        server = _parent_of(task)
        assert server != worker.pid, "the task did not run in a warm child"
        os.kill(server, signal.SIGKILL)
        assert wait_until_gone(server) and alive(task), "the task must outlive its warm runtime"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker_log(tmp_path, dag_id)}") from exc
    finally:
        kill_worker(worker)
    assert wait_until_gone(task), "the warm child outlived its worker and its warm runtime"


@pytest.mark.parametrize("warm_start", [True, False], ids=["warm", "cold"])
@pytest.mark.parametrize("ending", ["success", "failure", "timeout", "sigkill"])
def test_a_daemon_forked_without_exec_ends_with_its_task(
    warm: Path, tmp_path: Path, warm_start: bool, ending: str
) -> None:
    """A cold target's forks carry its exec-time run marker; a warm child's do not, so it keeps
    them as a subreaper and stops them itself (or, killed outright, its warm runtime does)."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    pid_file = tmp_path / "daemon.pid"
    kwargs: Dict[str, Any] = {"op_args": [str(pid_file), ending], "backend_options": {"warm": warm_start}}
    started = time.monotonic()
    if ending == "success":
        _run(fork_a_daemon, **kwargs)
    else:
        expected = {"timeout": AirflowTaskTimeout, "sigkill": IsolatedTargetCrashed}.get(
            ending, IsolatedTaskFailed
        )
        with pytest.raises(expected):
            _run(fork_a_daemon, execution_timeout=datetime.timedelta(seconds=3), **kwargs)
    assert time.monotonic() - started < 60, "the daemon held the task's output open"
    assert wait_until_gone(int(pid_file.read_text())), f"the daemon outlived a task that ended by {ending}"


@pytest.mark.parametrize("mode", ["off", "auto"])
def test_a_warm_runtime_started_ahead_by_isolationctl_takes_the_first_task(
    warm: Path, venv_environments: TestEnvironments, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unsandboxed, and in the sandbox (``auto``), which outlives the ``isolationctl`` that
    started it and exited at once, as it outlives the task that starts it."""
    monkeypatch.setenv("AIRFLOW__ISOLATION__VENV_SANDBOX", mode)
    stop_warm_runtimes(warm)
    manifest = read_manifest(venv_environments.builds, "venvtest")
    assert manifest is not None and not running(manifest)
    isolationctl = shutil.which("isolationctl", path=str(Path(sys.executable).parent)) or "isolationctl"
    where = ["--path", str(venv_environments.definitions), "--build-path", str(venv_environments.builds)]
    started = subprocess.run([isolationctl, "env", "warm", "venvtest", *where],
                             capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    [process] = running(manifest)
    parent = _run(whoami, op_args=[0])[1]
    assert parent == procfs.inner_pid(process.pid), "the task did not use the runtime started ahead"
    assert [p.pid for p in running(manifest)] == [process.pid]
    stopped = subprocess.run([isolationctl, "env", "warm", "venvtest", "--stop", *where],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert stopped.returncode == 0 and str(process.pid) in stopped.stdout
    assert wait_until_gone(process.pid) and not running(manifest)


def test_what_the_task_of_a_killed_worker_started_ends_with_it(warm: Path, tmp_path: Path) -> None:
    """The worker's death ends the warm child (its lifeline), and the warm runtime, its subreaper,
    stops the task's ``sleep`` in a session of its own at once, not only at the machine's next run."""
    pid_file, child_pid_file = tmp_path / "task.pid", tmp_path / "child.pid"
    dag_id = f"warm_{uuid.uuid4().hex[:8]}"
    worker = start_worker(tmp_path, dag_id, "venv", "venvtest", pid_file=str(pid_file),
                          child_pid_file=str(child_pid_file))  # fmt: skip
    try:
        task = wait_for_pid(pid_file, worker)
        child = read_host_pid(child_pid_file)
        server = _parent_of(task)
        assert server != worker.pid and alive(child), "the task did not run in a warm child"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker_log(tmp_path, dag_id)}") from exc
    finally:
        kill_worker(worker)
    assert wait_until_gone(task), "the warm child outlived its worker"
    assert wait_until_gone(child), "what the warm task started outlived its worker"
    assert alive(server), "the warm runtime serves on"
