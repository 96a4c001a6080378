"""A real Airflow 3 deployment for one test: api-server, scheduler (LocalExecutor), dag-processor and
triggerer (deferred tasks wait there).

``airflow dags test`` runs every task in one process, one after the other; only a scheduler and its
executor run tasks as a deployment does, each in its own supervised process, at the same time. The
deployment gets its own ``AIRFLOW_HOME`` and SQLite database (so it never shares state with the
other integration tests), free ports, a fresh JWT secret shared by every component (the scheduler
signs the tasks' tokens, the api-server checks them), and its own ``TMPDIR``, so what the tasks leave
there can be checked.

SQLite is Airflow 3's out-of-the-box database, and it is what ``airflow standalone`` runs the
LocalExecutor with. Concurrent task updates through the api-server do contend for its one writer
(a slow request is retried by the task SDK's client); fifty tasks at once pass on it.

Every component leads its own process group. Task processes make their own (the task supervisor
calls ``setpgid``), and so does every target the venv backend starts, so ``stop`` snapshots the
whole process tree before signalling, and signals every group in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Set, Tuple

import pytest
from harness import airflow_cli, host_env

COMPONENTS = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--port", "{api_port}"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
}
_STOP_GRACE_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat(pid: int) -> Optional[List[str]]:
    """The fields of ``/proc/PID/stat`` after the command name, or None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


Process = Tuple[int, str]
"""A pid and its start time: a pid alone may be reused by an unrelated process."""


def _identity(pid: int) -> Optional[Process]:
    fields = _stat(pid)
    return None if fields is None or fields[0] == "Z" else (pid, fields[19])


def _children() -> Dict[int, List[int]]:
    tree: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None:
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def descendants(pids: Iterable[int]) -> Set[Process]:
    tree, seen, todo = _children(), set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += tree.get(pid, [])
    return {identity for identity in map(_identity, seen) if identity is not None}


def processes_mentioning(text: str) -> Set[Process]:
    """Processes whose command line contains ``text`` (a path only this test uses)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            identity = _identity(int(entry.name)) if text in cmdline else None
            if identity is not None:
                found.add(identity)
    return found


def _alive(processes: Set[Process]) -> Set[Process]:
    return {process for process in processes if _identity(process[0]) == process}


def _signal(processes: Set[Process], sig: int) -> None:
    """Each still-running process of the set, and the process group it leads (its children)."""
    own_group = os.getpgid(0)
    for pid, _ in _alive(processes):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid and pid != own_group:
                os.killpg(pid, sig)
            os.kill(pid, sig)


class Deployment:
    def __init__(self, home: Path, dags: Path, settings: Mapping[str, str]):
        self.home = home
        self.tmp = home / "tmp"
        self.tmp.mkdir(parents=True)
        self.database = home / "airflow.db"
        self.api_port = free_port()
        self.env = host_env(
            extra={
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.database}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "TMPDIR": str(self.tmp),
                **settings,
            }
        )
        self.processes: Dict[str, subprocess.Popen[bytes]] = {}

    def log_of(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def start(self) -> None:
        migrate = airflow_cli("db", "migrate", env=self.env, timeout=600)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        airflow = str(Path(sys.executable).parent / "airflow")
        for name, args in COMPONENTS.items():
            command = [airflow, *(arg.format(api_port=self.api_port) for arg in args)]
            with self.log_of(name).open("wb") as log:
                self.processes[name] = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=self.env, cwd=self.home, start_new_session=True,
                )  # fmt: skip

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                pytest.fail(f"the {name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.log_of(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def health(self) -> Dict[str, str]:
        url = f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = json.load(response)
        except OSError:
            return {}
        return {name: str((body.get(name) or {}).get("status")) for name in body}

    def query(self, sql: str, *params: object) -> List[tuple]:
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30)) as db:
            return db.execute(sql, params).fetchall()

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {name}\n{self.tail(name)}" for name in self.processes)
                pytest.fail(f"{what} did not happen within {timeout:.0f} s\n{logs}")
            time.sleep(1)

    def wait_until_serving(self, dag_id: str, timeout: float = 300) -> None:
        def ready() -> bool:
            health = self.health()
            return all(health.get(name) == "healthy" for name in ("scheduler", "dag_processor", "triggerer"))

        self.wait_for("the scheduler, dag-processor and triggerer becoming healthy", ready, timeout)
        self.wait_for(
            f"the dag-processor serializing {dag_id}",
            lambda: bool(self.query("select 1 from serialized_dag where dag_id = ?", dag_id)),
            timeout,
        )

    def trigger(
        self, dag_id: str, run_id: str, conf: Mapping[str, object], logical_date: Optional[str] = None
    ) -> None:
        args = ["dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf)]
        if logical_date is not None:  # Airflow 3 leaves a manual run's logical date empty otherwise
            args += ["--logical-date", logical_date]
        proc = airflow_cli(*args, env=self.env)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def run_to_its_end(
        self,
        dag_id: str,
        run_id: str,
        conf: Optional[Mapping[str, object]] = None,
        logical_date: Optional[str] = None,
        timeout: float = 600,
    ) -> str:
        """Trigger a run and wait until it has ended; its final state."""
        self.trigger(dag_id, run_id, conf or {}, logical_date)
        ended = ("success", "failed")
        self.wait_for(f"the run {run_id} ending", lambda: self.run_state(dag_id, run_id) in ended, timeout)
        return str(self.run_state(dag_id, run_id))

    def task_states(self, dag_id: str, run_id: str) -> Dict[str, str]:
        """``task_id`` (``task_id[i]`` when mapped) -> state, of one run."""
        rows = self.query(
            "select task_id, map_index, state from task_instance where dag_id = ? and run_id = ?",
            dag_id,
            run_id,
        )
        return {(task if index < 0 else f"{task}[{index}]"): str(state) for task, index, state in rows}

    def log_tails(self, dag_id: str, run_id: str, task_ids: Iterable[str], lines: int = 30) -> str:
        """The last lines of every log of these tasks (``task_id[i]`` for one mapped instance)."""
        tails = []
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        for task in sorted(task_ids):
            task_id, _, index = task.partition("[")
            where = folder / f"task_id={task_id}" / (f"map_index={index.rstrip(']')}" if index else "")
            for path in sorted(where.rglob("*.log")):
                tails.append(f"--- {task} {path.name}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(tails)

    def run_state(self, dag_id: str, run_id: str) -> Optional[str]:
        rows = self.query("select state from dag_run where dag_id = ? and run_id = ?", dag_id, run_id)
        return rows[0][0] if rows else None

    def stop(self) -> None:
        """Everything the components started, whatever process group it made for itself."""
        tree = descendants(p.pid for p in self.processes.values()) | processes_mentioning(str(self.tmp))
        _signal(tree, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        while _alive(tree) and time.monotonic() < deadline:
            for process in self.processes.values():
                process.poll()
            time.sleep(0.5)
        left = _alive(tree)
        _signal(left | descendants(pid for pid, _ in left), signal.SIGKILL)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


@contextlib.contextmanager
def airflow_deployment(home: Path, dags: Path, settings: Mapping[str, str]) -> Iterator[Deployment]:
    deployment = Deployment(home, dags, settings)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()
