"""``isolationctl env shell NAME``: ``$SHELL`` in a built venv, with the environment a task gets."""

from __future__ import annotations

import typer

from airflow_isolation.cli.commands.env.run import NameArgument, run_in_environment
from airflow_isolation.cli.commands.options import BuildPathOption, PathOption, guarded


@guarded
def env_shell(name: NameArgument, path: PathOption = None, build_path: BuildPathOption = None) -> None:
    """Open $SHELL in NAME's built venv, with the environment a task gets; `exit` leaves it."""
    raise typer.Exit(run_in_environment(name, [], path, build_path))
