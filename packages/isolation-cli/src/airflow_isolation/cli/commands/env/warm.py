"""``isolationctl env warm NAME``: start an environment's warm runtime ahead of its first task.

The venv backend starts the warm runtime of an environment's current build on the first task that
needs it, and that task waits for the imports (Airflow, the ``preload`` list). Started here, on
the worker as the worker's user and with its settings, the first task finds it ready. ``--stop``
stops the environment's warm runtimes (of every build of it). Where it listens and how it starts
is ``airflow_isolation.workspace.warm``, the very code the backend uses.

It starts in the sandbox the worker's tasks get (``[isolation] venv_sandbox``, what this machine
allows: ``workspace.sandbox.decide``), with the profile of a task that mounts nothing and keeps
the network: the one most tasks share. A task with ``mounts`` or ``network="none"`` has a warm
runtime of its own profile, which its first task starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from airflow_isolation.cli import ui
from airflow_isolation.cli.commands.env import batch
from airflow_isolation.cli.commands.options import BuildPathOption, PathOption, guarded
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.settings import Settings, read, resolve_settings
from airflow_isolation.workspace import warm as warm_runtime
from airflow_isolation.workspace.environment import (
    list_environment_names,
    load_definition,
    read_manifest,
    resolve_venv,
)
from airflow_isolation.workspace.sandbox import SandboxModeError, SandboxProfile, SandboxUnavailable, decide
from airflow_isolation.workspace.settings_table import VENV_SANDBOX, WARM_RUNTIME_IDLE_SECONDS


@guarded
def env_warm(
    *,
    name: Annotated[
        Optional[str],
        typer.Argument(help="Name of a built environment (or --all).", show_default=False),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every environment built as a venv.")] = False,
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop its warm runtime(s) instead (tasks running keep running).")
    ] = False,
    idle: Annotated[
        Optional[float],
        typer.Option(
            "--idle",
            metavar="SECONDS",
            help="Exit after this long without a task. Default: "
            f"\\[isolation] {WARM_RUNTIME_IDLE_SECONDS.name}, else {WARM_RUNTIME_IDLE_SECONDS.default:.0f}.",
            show_default=False,
        ),
    ] = None,
    path: PathOption = None,
    build_path: BuildPathOption = None,
) -> None:
    """Start NAME's (or --all) warm runtime now, so its first venv task starts warm; --stop stops it."""
    batch.one_name_or_all(name, every, "warm")
    settings = resolve_settings(path, build_path)
    seconds = idle if idle is not None else configured_idle_seconds()

    def step(each: str) -> batch.Done:
        return _stop(settings, each) if stop else _start(settings, each, seconds)

    if name is not None:
        step(name)
        return
    names = _built_venvs(settings)
    verb = "Stopped the warm runtimes of" if stop else "Warm runtimes of"
    batch.report(batch.run_each(names, "venv", step), f"{verb} {len(names)} environment(s)")


def configured_idle_seconds() -> float:
    """``[isolation] warm_runtime_idle_seconds`` as the worker reads it (variable, then airflow.cfg)."""
    return read(WARM_RUNTIME_IDLE_SECONDS)


def _built_venvs(settings: Settings) -> list[str]:
    every = list_environment_names(settings.environments_path)
    names = [each for each in every if read_manifest(settings.build_path, each) is not None]
    if not names:
        raise CliError(
            f"no environment is built as a venv under {settings.build_path}",
            f"build one with `isolationctl env build NAME{settings.path_args}`",
        )
    return names


def _sandbox() -> tuple[Optional[SandboxProfile], str]:
    """The sandbox a task without mounts gets on this worker, and the ``bwrap`` that makes it."""
    try:
        decision = decide(read(VENV_SANDBOX).strip().lower())
    except (SandboxModeError, SandboxUnavailable) as exc:
        raise CliError(
            str(exc), "fix [isolation] venv_sandbox; `isolationctl doctor` says what this machine allows"
        ) from None
    if not decision.sandboxed or decision.availability is None:
        return None, "bwrap"
    return SandboxProfile(), decision.availability.bwrap or "bwrap"


def _start(settings: Settings, name: str, idle: float) -> batch.Done:
    manifest = resolve_venv(settings.environments_path, settings.build_path, name)
    sandbox, bwrap = _sandbox()
    variant = warm_runtime.variant(sandbox)
    before = {process.pid for process in warm_runtime.running(manifest, variant)}
    try:
        process = warm_runtime.start(
            manifest,
            settings.build_path,
            lambda: load_definition(settings.environments_path, name).preload,
            idle,
            sandbox=sandbox,
            bwrap=bwrap,
        )
    except warm_runtime.WarmUnavailable as exc:
        raise CliError(
            f"the warm runtime of {name!r} did not start: {exc}",
            f"run `isolationctl env run {name} -- python -m {warm_runtime.WARM_MODULE} --help`, and "
            f"check the log beside {warm_runtime.socket_path(manifest, settings.build_path, variant)}",
        ) from exc
    fresh = process.pid not in before
    state = f"started (idles out after {idle:.0f} s without a task)" if fresh else "already running"
    where = "sandboxed" if sandbox is not None else "unsandboxed"
    ui.say(
        f"{name}: warm runtime {state}, {where}: pid {process.pid}, {process.rss_text}, "
        f"socket {process.socket}",
        style="green",
    )
    return batch.Done("started" if fresh else "running", f"pid {process.pid}, {process.rss_text}, {where}")


def _stop(settings: Settings, name: str) -> batch.Done:
    manifest = read_manifest(settings.build_path, name)
    if manifest is None:
        ui.say(f"{name}: not built as a venv, so no warm runtime to stop")
        return batch.Done(batch.SKIPPED, "not built as a venv")
    builds = Path(manifest.venv_path).parent
    processes = [
        process
        for process in warm_runtime.warm_runtime_processes()
        if Path(process.interpreter).is_relative_to(builds)
    ]
    stopped = warm_runtime.stop(processes)
    if not stopped:
        ui.say(f"{name}: no warm runtime running")
        return batch.Done(batch.SKIPPED, "none running")
    pids = ", ".join(str(process.pid) for process in stopped)
    ui.say(f"{name}: stopped warm runtime(s) {pids}", style="green")
    return batch.Done("stopped", f"pid {pids}")
