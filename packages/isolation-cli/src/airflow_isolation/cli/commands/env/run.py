"""``isolationctl env run NAME -- CMD``: try an environment as tasks see it (``env shell`` too).

The command gets exactly what the venv backend gives a task (``core.launch.target_environment``):
the built venv's interpreter first on ``PATH``, ``VIRTUAL_ENV``, the venv's own ``AIRFLOW_HOME``,
and none of the host's Airflow settings or Python paths. So "it imports here" means "it imports in
a task". The command's exit code is this command's exit code.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Annotated, Optional

import typer

from airflow_isolation.cli.commands.options import BuildPathOption, PathOption, guarded
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.settings import resolve_settings
from airflow_isolation.core import launch
from airflow_isolation.workspace.environment import resolve_venv

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
NameArgument = Annotated[
    str, typer.Argument(help="Name of a built environment (env build NAME --target venv).")
]


@guarded
def env_run(
    name: NameArgument,
    command: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="The command and its arguments, after `--`. Default: $SHELL.", show_default=False
        ),
    ] = None,
    path: PathOption = None,
    build_path: BuildPathOption = None,
) -> None:
    """Run a command (default: $SHELL) in NAME's built venv, with the environment a task gets."""
    raise typer.Exit(run_in_environment(name, command or [], path, build_path))


def run_in_environment(name: str, command: list[str], path: Path | None, build_path: Path | None) -> int:
    settings = resolve_settings(path, build_path)
    manifest = resolve_venv(settings.environments_path, settings.build_path, name)
    airflow_home = launch.venv_airflow_home(manifest.venv_path)
    Path(airflow_home).mkdir(exist_ok=True)
    argv = command or [os.environ.get("SHELL") or "/bin/sh"]
    try:
        code = subprocess.call(
            argv, env=launch.target_environment(os.environ, manifest.venv_path, airflow_home)
        )
    except OSError as exc:
        raise CliError(
            f"cannot run {argv[0]!r} in environment {name!r}: {exc}",
            f"check the command; the venv's programs are in {manifest.venv_path}/bin",
            exit_code=127,
        ) from exc
    return 128 - code if code < 0 else code
