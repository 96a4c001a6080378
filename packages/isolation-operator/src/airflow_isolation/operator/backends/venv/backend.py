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
from typing import Dict, Optional, Union

from airflow_isolation.core import launch
from airflow_isolation.operator.backends.base import BackendJob, IsolationBackend, LogSink, LogTail, RunOutcome
from airflow_isolation.operator.backends.venv import warm as venv_warm
from airflow_isolation.operator.backends.venv.child import child_setup
from airflow_isolation.operator.backends.venv.options import VenvOptions
from airflow_isolation.operator.backends.venv.reap import run_environment, stop_when_target_exits
from airflow_isolation.operator.config.settings import warm_enabled
from airflow_isolation.operator.backends.venv.workdir import make_workdir, remove_workdir, sweep_workdirs
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


class VenvBackend(IsolationBackend):
    name = "venv"

    def __init__(self) -> None:
        self._process: Optional[subprocess.Popen[str]] = None
        self._reaper: Optional[threading.Thread] = None
        self._warm: Optional[venv_warm.WarmTarget] = None

    def run(self, request: bytes, job: BackendJob, log: LogSink) -> RunOutcome:
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
            warm = self._start_warm(
                manifest=manifest, job=job, options=options, request=request, request_file=request_file,
                result_file=result_file, env=env, log=log,
            )  # fmt: skip
            if isinstance(warm, RunOutcome):
                return warm
            if warm is not None:
                exit_code = venv_warm.follow(warm, result_file, tail, log)
            else:
                exit_code = self._run_cold(
                    manifest=manifest, request_file=request_file, result_file=result_file, env=env,
                    workdir=workdir, options=options, tail=tail, log=log,
                )  # fmt: skip
            result = result_file.read_bytes() if result_file.exists() else None
            where = f"venv {manifest.venv_path}{' (warm runtime)' if warm is not None else ''}"
            return RunOutcome(result, exit_code, list(tail.lines), where, memory_hint=memory_hint(options))
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

    def _run_cold(
        self,
        *,
        manifest: BuildManifest,
        request_file: Path,
        result_file: Path,
        env: Dict[str, str],
        workdir: Path,
        options: VenvOptions,
        tail: LogTail,
        log: LogSink,
    ) -> int:
        """A fresh interpreter of the environment (the cold start); return its exit code."""
        self._process = subprocess.Popen(
            launch.runtime_command(str(manifest.interpreter), str(request_file), str(result_file)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=workdir,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
            preexec_fn=child_setup(options.memory_bytes),  # noqa: PLW1509 - lock-free, see venv.child
        )
        assert self._process.stdout is not None
        self._reaper = threading.Thread(
            target=stop_when_target_exits,
            args=(self._process.pid, workdir.name, log),
            name=f"isolation-reap-{self._process.pid}",
            daemon=True,
        )
        self._reaper.start()
        for line in self._process.stdout:
            tail(line.rstrip("\n"))
        return self._process.wait()

    # --- warm runtime (venv.warm): a child forked by the build's warm runtime instead of a fresh interpreter

    def _start_warm(
        self,
        *,
        manifest: BuildManifest,
        job: BackendJob,
        options: VenvOptions,
        request: bytes,
        request_file: Path,
        result_file: Path,
        env: Dict[str, str],
        log: LogSink,
    ) -> Union[RunOutcome, venv_warm.WarmTarget, None]:
        """The started warm child; ``None`` to start cold (said once in the log)."""
        try:
            if not options.warm or not warm_enabled():
                return None
            self._warm = venv_warm.start(
                manifest=manifest,
                build_path=build_path(),
                preload=lambda: load_definition(environments_path(), job.environment).preload,
                request_file=request_file,
                result_file=result_file,
                env=env,
                digest=env[launch.REQUEST_DIGEST_ENV],
                memory_limit=options.memory_bytes,
                log=log,
            )
            return self._warm
        except venv_warm.WarmLost as exc:
            where = f"venv {manifest.venv_path} (warm runtime)"
            return RunOutcome(None, -int(signal.SIGKILL), [], where, detail=str(exc))
        except Exception as exc:
            log(f"[airflow-isolation] starting cold: the warm runtime is unavailable ({exc})")
            return None

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
