"""Running the target as a subprocess of the worker, in the environment's built virtualenv.

The request is a 0600 file in a 0700 directory, never argv or env; the child gets an allowlisted
environment (``workspace.sandbox.task_environment``: nothing of the worker's but ``PATH``, locale,
time zone and what the task names) and its own ``AIRFLOW_HOME`` so it never reads the host's
(possibly other-version) ``airflow.cfg``. Where the worker allows it (``venv.sandbox``) the target
runs in a bubblewrap sandbox that sees nothing of the worker but its run folder
(``workspace.sandbox``); the sandbox's processes end with its first one. The child leads its own
process group so a kill reaches everything it started, and dies with the worker (see
``venv.child``). Whatever the target started is stopped when the run ends, however it ends (see
``venv.reap``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Dict, List, Optional

from airflow_isolation.core import launch, procfs
from airflow_isolation.operator.backends.base import (
    BackendJob,
    IsolationBackend,
    LogSink,
    LogTail,
    TargetExit,
)
from airflow_isolation.operator.backends.venv import warm as venv_warm
from airflow_isolation.operator.backends.venv.child import child_setup
from airflow_isolation.operator.backends.venv.impersonation import (
    Impersonation,
    ImpersonationError,
    impersonation,
)
from airflow_isolation.operator.backends.venv.options import VenvOptions
from airflow_isolation.operator.backends.venv.reap import run_environment, stop_when_target_exits
from airflow_isolation.operator.backends.venv.sandbox import SandboxPlan, plan
from airflow_isolation.operator.backends.venv.workdir import (
    lend_workdir,
    make_workdir,
    remove_workdir,
    sweep_workdirs,
)
from airflow_isolation.operator.backends.warm_start import (
    STARTED_WARM,
    TASK_TURNED_OFF,
    ColdStart,
    warm_else_cold,
)
from airflow_isolation.operator.channel import HostChannel
from airflow_isolation.operator.environments import build_path, environments_path, resolve_venv
from airflow_isolation.workspace.environment import BuildManifest, load_definition
from airflow_isolation.workspace.sandbox import (
    SANDBOX_HOME,
    sandbox_command,
    signal_exit_code,
    task_environment,
)

_KILL_GRACE_SECONDS = 5.0


def target_environment(
    venv: Path, airflow_home: Path, options: VenvOptions, sandboxed: bool, home: Optional[str] = None
) -> Dict[str, str]:
    """The allowlist of the worker's environment, the venv activated, and what the task names;
    ``home``: an impersonated target's own."""
    return task_environment(
        os.environ, str(venv), str(airflow_home), home=SANDBOX_HOME if sandboxed else home,
        env=options.env, inherit=options.inherit_env,
    )  # fmt: skip


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
    sandbox: SandboxPlan
    tail: LogTail
    log: LogSink
    impersonation: Optional[Impersonation] = None
    channel: Optional[HostChannel] = None
    """The channel back to the host, handed to the target as a descriptor (``sudo`` would close it:
    none for ``run_as_user``)."""

    def exit(self, exit_code: int, where: str) -> TargetExit:
        result = (self.result_file.read_bytes() if self.result_file.exists() else b"") or None
        return TargetExit(
            result, exit_code, list(self.tail.lines), where, memory_hint=memory_hint(self.options)
        )


class VenvBackend(IsolationBackend):
    name = "venv"

    def __init__(self) -> None:
        self._process: Optional[subprocess.Popen[str]] = None
        self._sandbox_init: Optional[int] = None
        """The host PID of a cold sandbox's first process (bubblewrap's), whose child is the target."""
        self._reaper: Optional[threading.Thread] = None
        self._warm: Optional[venv_warm.WarmTarget] = None
        self._impersonation: Optional[Impersonation] = None
        self._lifeline: int = -1
        """The worker's end of an impersonated target's stdin (``venv.impersonation``)."""

    def run(self, request: bytes, job: BackendJob, log: LogSink) -> TargetExit:
        options: VenvOptions = job.options if job.options is not None else VenvOptions()
        sandbox = plan(options)
        if sandbox.notice is not None:
            log(sandbox.notice)
        manifest = resolve_venv(job.environment)
        as_user = impersonation(options.run_as_user) if options.run_as_user is not None else None
        airflow_home = Path(launch.venv_airflow_home(manifest.venv_path))
        airflow_home.mkdir(exist_ok=True)
        sweep_workdirs(log)
        workdir = make_workdir()
        tail = LogTail(log)
        self._reaper = None
        self._impersonation = as_user
        try:
            request_file, result_file = workdir / launch.REQUEST_FILE_NAME, workdir / launch.RESULT_FILE_NAME
            write_private_file(request_file, request)
            if as_user is not None:  # its own Airflow home: the shared one is the worker's to write
                airflow_home = workdir / "airflow-home"
                airflow_home.mkdir(mode=0o700)
                lend_workdir(workdir, as_user)
            home = as_user.home if as_user is not None else None
            venv = Path(manifest.venv_path)
            env = {
                **target_environment(venv, airflow_home, options, sandbox.sandboxed, home=home),
                **launch.request_environment(request),
                **run_environment(workdir.name),
            }
            run = _Run(
                manifest, request_file, result_file, env, workdir, options, sandbox, tail, log, as_user,
                channel=job.channel if as_user is None else None,
            )  # fmt: skip
            refuses = None if options.warm else TASK_TURNED_OFF
            if as_user is not None and options.warm:
                refuses = f"run_as_user={as_user.user!r}: a warm runtime runs as the worker's user"
            return warm_else_cold(
                refuses,
                lambda: self._run_warm(run, job),
                lambda: self._run_cold(run),
                log,
            )
        finally:
            self.kill()
            self._process = None
            self._sandbox_init = None
            if self._lifeline >= 0:
                os.close(self._lifeline)
                self._lifeline = -1
            if self._warm is not None:
                self._warm.release()
                self._warm = None
            if self._reaper is not None:  # the target has ended, so the reaper stops its processes now
                self._reaper.join()
                self._reaper = None
            if as_user is not None:
                with contextlib.suppress(ImpersonationError):
                    as_user.take_back(workdir)
            self._impersonation = None
            remove_workdir(workdir)

    def _run_cold(self, run: _Run) -> TargetExit:
        """A fresh interpreter of the environment (the cold start), in its sandbox if it has one."""
        command = launch.runtime_command(
            str(run.manifest.interpreter), str(run.request_file), str(run.result_file)
        )
        as_user = run.impersonation
        # sudo closes every descriptor above 2: bubblewrap's info descriptor would not get through
        info_read, info_write = os.pipe() if run.sandbox.sandboxed and as_user is None else (-1, -1)
        if run.sandbox.profile is not None:
            prefix = sandbox_command(
                run.sandbox.profile, Path(run.manifest.venv_path), bwrap=run.sandbox.bwrap,
                writable=[run.workdir], chdir=str(run.workdir),
                info_fd=info_write if info_write >= 0 else None,
            )  # fmt: skip
            command = [*prefix, *command]
        stdin: int = subprocess.DEVNULL
        env = run.env
        channel_fd = run.channel.open() if run.channel is not None else -1
        if channel_fd >= 0:
            env = {**env, launch.CHANNEL_FD_ENV: str(channel_fd)}
        if as_user is not None:
            command = as_user.command(command, run.env["PATH"])
            stdin, self._lifeline = os.pipe()
            env = {**env, launch.LIFELINE_FD_ENV: "0"}
        try:
            self._process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=stdin,
                env=env,
                cwd=run.workdir,
                text=True,
                errors="replace",
                bufsize=1,
                start_new_session=True,
                pass_fds=tuple(fd for fd in (info_write, channel_fd) if fd >= 0),
                preexec_fn=child_setup(run.options.memory_bytes),  # noqa: PLW1509 - lock-free, see venv.child
            )
        finally:
            if run.channel is not None:
                run.channel.handed_over()
            if info_write >= 0:
                os.close(info_write)
            if stdin >= 0:
                os.close(stdin)
        assert self._process.stdout is not None
        if info_read >= 0:
            self._sandbox_init = _sandbox_pid(info_read)
        elif not run.sandbox.sandboxed:
            self._reaper = threading.Thread(  # a sandbox ends what it holds with its first process
                target=stop_when_target_exits,
                args=(self._process.pid, run.workdir.name, run.log),
                name=f"isolation-reap-{self._process.pid}",
                daemon=True,
            )
            self._reaper.start()
        for line in self._process.stdout:
            run.tail(line.rstrip("\n"))
        code = self._process.wait()
        where = f"venv {run.manifest.venv_path}" + (" (sandboxed)" if run.sandbox.sandboxed else "")
        return run.exit(signal_exit_code(code) if run.sandbox.sandboxed else code, where)

    # --- warm runtime (venv.warm): a child forked by the build's warm runtime instead of a fresh interpreter

    def _run_warm(self, run: _Run, job: BackendJob) -> TargetExit:
        """The task in a warm child; ``ColdStart`` when none can have started."""
        where = (
            f"venv {run.manifest.venv_path} (warm runtime{', sandboxed' if run.sandbox.sandboxed else ''})"
        )
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
                sandbox=run.sandbox.profile,
                bwrap=run.sandbox.bwrap,
                channel=run.channel,
            )
        except venv_warm.WarmLost as exc:
            return TargetExit(None, -int(signal.SIGKILL), [], where, detail=str(exc))
        except Exception as exc:
            raise ColdStart(f"the warm runtime is unavailable ({exc})") from exc
        run.log(
            f"{STARTED_WARM}a child (pid {self._warm.pid}) of the warm runtime of {job.environment!r} "
            f"took the task{', in its sandbox' if run.sandbox.sandboxed else ''}"
        )
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
                if self._impersonation is not None:
                    self._signal_impersonated(process.pid, sig)
                elif sig == signal.SIGTERM and self._sandbox_init is not None:
                    _signal_all(procfs.children(self._sandbox_init), sig)
                else:
                    os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def _signal_impersonated(self, sudo: int, sig: signal.Signals) -> None:
        """Through ``sudo``'s rules (``venv.impersonation``): SIGTERM to a sandboxed target itself,
        as for any sandbox (see ``_signal_all``), else to the whole group ``sudo`` leads, which
        holds what the target started."""
        as_user = self._impersonation
        assert as_user is not None
        if sig == signal.SIGTERM:
            target = _impersonated_sandbox_targets(sudo)
            if target:
                as_user.signal(target, sig)
                return
        as_user.signal([-sudo], sig)


def _impersonated_sandbox_targets(sudo: int) -> List[int]:
    """The target in a sandbox started through ``sudo``: ``sudo`` → bubblewrap → the sandbox's
    first process → the target (no info descriptor gets through ``sudo``)."""
    for outer in procfs.children(sudo):
        for first in procfs.children(outer):
            return procfs.children(first)
    return []


def _sandbox_pid(info: int) -> Optional[int]:
    """The host PID of the sandbox's first process, from bubblewrap's ``--info-fd`` JSON; ``None``
    when it ended before it could say."""
    data = b""
    try:
        while True:
            chunk = os.read(info, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(info)
    try:
        pid = json.loads(data.decode()).get("child-pid")
    except ValueError:
        return None
    return pid if isinstance(pid, int) else None


def _signal_all(pids: List[int], sig: signal.Signals) -> None:
    """SIGTERM goes to the target only: bubblewrap ends on it at once and takes the sandbox with it,
    and the task would miss its grace (``on_kill``) to end as natively."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
