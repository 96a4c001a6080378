"""The ``isolationctl`` typer application: mounts the commands of ``commands/``.

Each command module parses its arguments and turns results into rich output; ``commands.options``
turns :class:`CliError`/core errors into a red message on stderr with exit code 1 (never a
traceback).
"""

from __future__ import annotations

from typing import Annotated

import typer

from airflow_isolation.cli import ui
from airflow_isolation.cli.__about__ import __version__
from airflow_isolation.cli.commands import doctor, init
from airflow_isolation.cli.commands.env import env_app

app = typer.Typer(
    name="isolationctl",
    help="Create, build and check airflow-isolation environments (venvs and images for Airflow tasks).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(env_app, name="env")
app.command("init")(init.init)
app.command("doctor")(doctor.doctor)


def _version_callback(value: bool) -> None:
    if value:
        ui.say(f"isolationctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version_callback, is_eager=True
        ),
    ] = False,
) -> None:
    """Create, build and check airflow-isolation environments (venvs and images for Airflow tasks)."""
