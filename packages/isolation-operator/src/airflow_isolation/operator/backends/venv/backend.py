"""Running the target as a subprocess of the worker, in the environment's built virtualenv.

The request is a 0600 file in a 0700 directory, never argv or env; the child gets the worker's
environment minus every Airflow setting and connection/variable variable, and its own
``AIRFLOW_HOME`` so it never reads the host's (possibly other-version) ``airflow.cfg``. The child
leads its own process group so a kill reaches everything it started, and dies with the worker
(see ``venv.child``). Whatever the target started is stopped when the run ends, however it ends
(see ``venv.reap``).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Dict, Optional

from airflow_isolation.core import launch
from airflow_isolation.operator.backends.base import (
    BackendJob,
    IsolationBackend,
    LogSink,
    LogTail,
    TargetExit,
)
from airflow_isolation.operator.backends.venv import warm as venv_warm
from airflow_isolation.operator.backends.venv.child import child_setup
from airflow_isolation.operator.backends.venv.options import VenvOptions
from airflow_isolation.operator.backends.venv.reap import run_environment, stop_when_target_exits
from airflow_isolation.operator.backends.venv.workdir import make_workdir, remove_workdir, sweep_workdirs
from airflow_isolation.operator.backends.warm_start import ColdStart, warm_else_cold
from airflow_isolation.operator.environments import build_path, environments_path, resolve_venv
from airflow_isolation.workspace.environment import BuildManifest, load_definition

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


@dataclasses.dataclass(frozen=True)
class _Run:
    """One run's files, environment and log, whichever way it starts."""

    manifest: BuildManifest
    request_file: Path
    result_file: Path
    env: Dict[str, str]
    workdir: Path
    options: VenvOptions
    tail: LogTail
    log: LogSink

    def exit(self, exit_code: int, where: str) -> TargetExit:
        result = self.result_file.read_bytes() if self.result_file.exists() else None
        return TargetExit(
            result, exit_code, list(self.tail.lines), where, memory_hint=memory_hint(self.options)
        )


class VenvBackend(IsolationBackend):
    name = "venv"

    def __init__(self) -> None:
        self._process: Optional[subprocess.Popen[str]] = None
        self._reaper: Optional[threading.Thread] = None
        self._warm: Optional[venv_warm.WarmTarget] = None

    def run(self, request: bytes, job: BackendJob, log: LogSink) -> TargetExit:
        options: VenvOptions = job.options if job.options is not None else VenvOptions()
        manifest = resolve_venv(job.environment)
        airflow_home = Path(launch.venv_airflow_home(manifest.venv_path))
        airflow_home.mkdir(exist_ok=True)
        sweep_workdirs(log)
        workdir = make_workdir()
        tail = LogTail(log)
        self._reaper = None
        try:
            request_file, result_file = workdir / launch.REQUEST_FILE_NAME, workdir / launch.RESULT_FILE_NAME
            write_private_file(request_file, request)
            env = {
                **target_environment(Path(manifest.venv_path), airflow_home),
                **launch.request_environment(request),
                **run_environment(workdir.name),
            }
            run = _Run(manifest, request_file, result_file, env, workdir, options, tail, log)
            return warm_else_cold(
                options.warm, lambda: self._run_warm(run, job), lambda: self._run_cold(run), log
            )
        finally:
            self.kill()
            self._process = None
            if self._warm is not None:
                self._warm.release()
                self._warm = None
            if self._reaper is not None:  # the target has ended, so the reaper stops its processes now
                self._reaper.join()
                self._reaper = None
            remove_workdir(workdir)

    def _run_cold(self, run: _Run) -> TargetExit:
        """A fresh interpreter of the environment (the cold start)."""
        self._process = subprocess.Popen(
            launch.runtime_command(
                str(run.manifest.interpreter), str(run.request_file), str(run.result_file)
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=run.env,
            cwd=run.workdir,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
            preexec_fn=child_setup(run.options.memory_bytes),  # noqa: PLW1509 - lock-free, see venv.child
        )
        assert self._process.stdout is not None
        self._reaper = threading.Thread(
            target=stop_when_target_exits,
            args=(self._process.pid, run.workdir.name, run.log),
            name=f"isolation-reap-{self._process.pid}",
            daemon=True,
        )
        self._reaper.start()
        for line in self._process.stdout:
            run.tail(line.rstrip("\n"))
        return run.exit(self._process.wait(), f"venv {run.manifest.venv_path}")

    # --- warm runtime (venv.warm): a child forked by the build's warm runtime instead of a fresh interpreter

    def _run_warm(self, run: _Run, job: BackendJob) -> TargetExit:
        """The task in a warm child; ``ColdStart`` when none can have started."""
        where = f"venv {run.manifest.venv_path} (warm runtime)"
        try:
            self._warm = venv_warm.start(
                manifest=run.manifest,
                build_path=build_path(),
                preload=lambda: load_definition(environments_path(), job.environment).preload,
                request_file=run.request_file,
                result_file=run.result_file,
                env=run.env,
                digest=run.env[launch.REQUEST_DIGEST_ENV],
                memory_limit=run.options.memory_bytes,
                log=run.log,
            )
        except venv_warm.WarmLost as exc:
            return TargetExit(None, -int(signal.SIGKILL), [], where, detail=str(exc))
        except Exception as exc:
            raise ColdStart(f"the warm runtime is unavailable ({exc})") from exc
        return run.exit(venv_warm.follow(self._warm, run.result_file, run.tail, run.log), where)

    def kill(self) -> None:
        warm = self._warm
        if warm is not None:
            warm.kill(_KILL_GRACE_SECONDS)
            return
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
