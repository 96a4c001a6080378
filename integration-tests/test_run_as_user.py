"""``backend_options={"run_as_user": USER}``: a venv target runs as another Unix user of the worker,
sandboxed and not, under ``airflow dags test``, and nothing of that user outlives its task: not
after a timeout, not after its worker is SIGKILLed (the lifeline), not its run folder.

The user is made here (``useradd``, as root or through passwordless ``sudo``), and the environment
is built with the system's Python in a folder every user may read, as a deployment that
impersonates must have it: the user has to be able to run the interpreter.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from harness import (
    TEST_DAGS,
    host_env,
    isolationctl,
    missing,
    return_value,
    run_dag,
)

pytestmark = pytest.mark.usefixtures("airflow_db")

USER = "isolation-probe"
SYSTEM_PYTHON = "/usr/bin/python3"
DAG_FILE = TEST_DAGS / "run_as_user.py"


def _sudo(*args: str) -> List[str]:
    return list(args) if os.geteuid() == 0 else ["sudo", "-n", *args]


@pytest.fixture(scope="module")
def probe_user() -> pwd.struct_passwd:
    """The user targets run as, made if missing."""
    if shutil.which("sudo") is None:
        missing("sudo (apt-get install sudo), which run_as_user needs as Airflow's does")
    if os.geteuid() != 0 and subprocess.run(["sudo", "-n", "true"], check=False).returncode != 0:
        missing("root or passwordless sudo, to make the probe user")
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        made = subprocess.run(
            _sudo("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    return pwd.getpwnam(USER)


@pytest.fixture(scope="module")
def shared(probe_user: pwd.struct_passwd) -> Iterator[Dict[str, str]]:
    """Environments, build path and temp folder every user may traverse, an environment built with
    the system's Python, and a file only the worker's user may read."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        missing(f"{SYSTEM_PYTHON}, a Python every user can run")
    root = Path(tempfile.mkdtemp(prefix="isolation-run-as-user-"))
    root.chmod(0o755)
    try:
        version = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        definition = root / "environments" / "sysplain" / "environment.toml"
        definition.parent.mkdir(parents=True)
        definition.write_text(f'python = "{version}"\nrequirements = []\n')
        build = root / "build"
        proc = subprocess.run(
            [isolationctl(), "env", "build", "sysplain", "--path", str(root / "environments"),
             "--build-path", str(build), "--python-path", SYSTEM_PYTHON],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        tmp = root / "tmp"
        tmp.mkdir()
        tmp.chmod(0o1777)
        worker_file = root / "worker-only"
        worker_file.write_text("the worker's secret")
        worker_file.chmod(0o600)
        yield {
            "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH": str(root / "environments"),
            "AIRFLOW__ISOLATION__BUILD_PATH": str(build),
            "TMPDIR": str(tmp),
            "RUN_AS_USER_PROBE_USER": USER,
            "RUN_AS_USER_PROBE_ENVIRONMENT": "sysplain",
            "RUN_AS_USER_PROBE_WORKER_FILE": str(worker_file),
        }
    finally:
        subprocess.run(_sudo("pkill", "-KILL", "-u", USER), check=False)
        subprocess.run(_sudo("rm", "-rf", str(root)), check=False)


def _processes_of(uid: int) -> List[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                found.append(f"{entry.name} {(entry / 'cmdline').read_bytes()[:120]!r}")
        except OSError:
            continue
    return found


def _wait_until_gone(uid: int, seconds: float) -> List[str]:
    deadline = time.monotonic() + seconds
    while (left := _processes_of(uid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _run_folders(env: Dict[str, str]) -> List[str]:
    return sorted(p.name for p in Path(env["TMPDIR"]).iterdir() if "airflow-isolation-" in p.name)


@pytest.mark.parametrize("sandbox", ["auto", "off"])
def test_the_target_runs_as_the_user_it_names(
    sandbox: str, probe_user: pwd.struct_passwd, shared: Dict[str, str]
) -> None:
    env = host_env(extra={**shared, "AIRFLOW__ISOLATION__VENV_SANDBOX": sandbox})
    report = run_dag("run_as_user_probe", env, dag_file=DAG_FILE)
    assert report.states == {"who_am_i": "success"}, report.output[-6000:]
    found = return_value("run_as_user_probe", "who_am_i")
    assert found["uid"] == probe_user.pw_uid, found
    hidden = "FileNotFoundError" if sandbox == "auto" else "PermissionError"
    assert found["worker_file"] == hidden, found
    assert found["home"] == ("/tmp/home" if sandbox == "auto" else probe_user.pw_dir), found
    assert "starting cold: run_as_user='isolation-probe'" in report.output
    assert _run_folders(shared) == [], "the run folder outlived its task"
    assert _wait_until_gone(probe_user.pw_uid, 5) == []  # an exiting process may be reaped a moment late


@pytest.mark.parametrize("sandbox", ["auto", "off"])
def test_a_timeout_stops_every_process_of_the_user(
    sandbox: str, probe_user: pwd.struct_passwd, shared: Dict[str, str]
) -> None:
    env = host_env(extra={**shared, "AIRFLOW__ISOLATION__VENV_SANDBOX": sandbox})
    report = run_dag("run_as_user_timeout", env, dag_file=DAG_FILE)
    assert report.states == {"sleeps": "failed"}, report.output[-6000:]
    assert "Timeout" in report.output
    assert _wait_until_gone(probe_user.pw_uid, 10) == [], "the task's processes outlived its timeout"
    assert _run_folders(shared) == []


@pytest.mark.parametrize("sandbox", ["auto", "off"])
def test_a_killed_worker_takes_the_users_processes_along(
    sandbox: str, probe_user: pwd.struct_passwd, shared: Dict[str, str]
) -> None:
    """``sudo`` clears the kernel's parent-death signal: the lifeline on the target's stdin is what
    ends it. The run folder it leaves is the next run's to sweep, though the user holds it."""
    env = host_env(
        extra={**shared, "AIRFLOW__ISOLATION__VENV_SANDBOX": sandbox, "RUN_AS_USER_PROBE_TIMEOUT": "120"}
    )
    airflow = str(Path(sys.executable).parent / "airflow")
    args = ["dags", "test", "run_as_user_timeout", "2024-01-03", "--dagfile-path", str(DAG_FILE)]
    worker = subprocess.Popen(
        [airflow, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not any("sleep" in line for line in _processes_of(probe_user.pw_uid)):
            assert worker.poll() is None, "the worker ended before its task started"
            assert time.monotonic() < deadline, "the task never started its child"
            time.sleep(0.1)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        assert _wait_until_gone(probe_user.pw_uid, 15) == [], "the task outlived its killed worker"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    left = _run_folders(shared)
    assert left, "a killed worker cannot remove its run folder: the next run must"
    after = run_dag("run_as_user_probe", host_env(extra=shared), dag_file=DAG_FILE)
    assert after.states == {"who_am_i": "success"}, after.output[-6000:]
    assert _run_folders(shared) == [], "the next run did not sweep the folder the killed worker lent"


def test_an_unknown_user_fails_the_task_before_it_runs(shared: Dict[str, str]) -> None:
    env = host_env(extra={**shared, "RUN_AS_USER_PROBE_USER": "no-such-user-here"})
    report = run_dag("run_as_user_probe", env, dag_file=DAG_FILE)
    assert report.states == {"who_am_i": "failed"}, report.output[-6000:]
    assert "run_as_user='no-such-user-here' is not a user on this worker" in report.output
