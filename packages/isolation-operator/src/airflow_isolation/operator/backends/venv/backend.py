"""Running the target as a subprocess of the worker, in the environment's built virtualenv.

The request is a 0600 file in a 0700 directory, never argv or env; the child gets the worker's
environment minus every Airflow setting and connection/variable variable, and its own
``AIRFLOW_HOME`` so it never reads the host's (possibly other-version) ``airflow.cfg``. The child
leads its own process group so a kill reaches everything it started, and dies with the worker
(see ``venv.child``). Whatever the target started is stopped when the run ends, however it ends
(see ``venv.reap``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Dict, Optional

from airflow_isolation.core import launch
from airflow_isolation.operator.backends.base import BackendJob, IsolationBackend, LogSink, LogTail, RunOutcome
from airflow_isolation.operator.backends.venv.child import child_setup
from airflow_isolation.operator.backends.venv.options import VenvOptions
from airflow_isolation.operator.backends.venv.reap import run_environment, stop_when_target_exits
from airflow_isolation.operator.backends.venv.workdir import make_workdir, sweep_workdirs
from airflow_isolation.operator.environments import resolve_venv

_KILL_GRACE_SECONDS = 5.0


def target_environment(venv: Path, airflow_home: Path) -> Dict[str, str]:
    """The worker's environment as an activated venv sees it, minus every Airflow setting."""
    return launch.target_environment(os.environ, str(venv), str(airflow_home))


def memory_hint(options: VenvOptions) -> Optional[str]:
    if options.memory_limit is None:
        return None
    return (
        f"the venv backend's memory_limit of {options.memory_limit_text} caps the task's address space: "
        "raise memory_limit in backend_options, or use less memory"
    )


def write_private_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


class VenvBackend(IsolationBackend):
    name = "venv"

    def __init__(self) -> None:
        self._process: Optional[subprocess.Popen[str]] = None

    def run(self, request: bytes, job: BackendJob, log: LogSink) -> RunOutcome:
        options: VenvOptions = job.options if job.options is not None else VenvOptions()
        manifest = resolve_venv(job.environment)
        airflow_home = Path(launch.venv_airflow_home(manifest.venv_path))
        airflow_home.mkdir(exist_ok=True)
        sweep_workdirs(log)
        workdir = make_workdir()
        tail = LogTail(log)
        reaper: Optional[threading.Thread] = None
        try:
            request_file, result_file = workdir / launch.REQUEST_FILE_NAME, workdir / launch.RESULT_FILE_NAME
            write_private_file(request_file, request)
            self._process = subprocess.Popen(
                launch.runtime_command(str(manifest.interpreter), str(request_file), str(result_file)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={
                    **target_environment(Path(manifest.venv_path), airflow_home),
                    **launch.request_environment(request),
                    **run_environment(workdir.name),
                },
                cwd=workdir,
                text=True,
                errors="replace",
                bufsize=1,
                start_new_session=True,
                preexec_fn=child_setup(options.memory_bytes),  # noqa: PLW1509 - lock-free, see venv.child
            )
            assert self._process.stdout is not None
            reaper = threading.Thread(
                target=stop_when_target_exits,
                args=(self._process.pid, workdir.name, log),
                name=f"isolation-reap-{self._process.pid}",
                daemon=True,
            )
            reaper.start()
            for line in self._process.stdout:
                tail(line.rstrip("\n"))
            exit_code = self._process.wait()
            result = result_file.read_bytes() if result_file.exists() else None
            where = f"venv {manifest.venv_path}"
            return RunOutcome(result, exit_code, list(tail.lines), where, memory_hint=memory_hint(options))
        finally:
            self.kill()
            self._process = None
            if reaper is not None:  # the target has ended, so the reaper stops its processes now
                reaper.join()
            shutil.rmtree(workdir, ignore_errors=True)

    def kill(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, _KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
