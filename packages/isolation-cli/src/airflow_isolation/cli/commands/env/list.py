"""``isolationctl env list``: every environment with its Python, requirements, venv and image."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from airflow_isolation.cli import ui
from airflow_isolation.cli.checks.status import BUILT, NOT_BUILT, ImageStatus, all_statuses
from airflow_isolation.cli.commands.options import BuildPathOption, PathOption, guarded
from airflow_isolation.cli.settings import resolve_settings


@guarded
def env_list(
    path: PathOption = None,
    build_path: BuildPathOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per environment) for scripts.")
    ] = False,
) -> None:
    """List environments with their Python, requirement count, venv state and image state."""
    settings = resolve_settings(path, build_path)
    statuses = all_statuses(settings)
    if as_json:
        typer.echo(json.dumps([status.as_json() for status in statuses], indent=2))
        return
    if not statuses:
        ui.say(
            f"No environments in {settings.environments_path} "
            f"({settings.describe_environments_source()}). "
            f"Create one with `isolationctl env create NAME{settings.path_args}`."
        )
        return
    table = Table(title=f"Environments in {settings.environments_path}", title_justify="left")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("python", no_wrap=True)
    table.add_column("#reqs", justify="right", no_wrap=True, min_width=5)
    table.add_column("venv", no_wrap=True)
    table.add_column("built at", overflow="fold")
    table.add_column("image", overflow="fold")
    for status in statuses:
        style = "green" if status.state == BUILT else "yellow" if status.definition else "red"
        table.add_row(
            status.name,
            status.definition.python if status.definition else "?",
            str(len(status.definition.requirements)) if status.definition else "?",
            Text(status.label, style=style),
            status.manifest.built_at if status.manifest else "",
            _image_cell(status.image) if status.definition else Text(""),
        )
    ui.stdout().print(table)
    for status in statuses:
        for problem in (status.problem, status.image.problem):
            if problem:
                ui.warn(f"{status.name}: {problem}")
        for lag in status.schema_lags(settings.path_args):
            ui.warn(f"{status.name}: {lag}")


def _image_cell(image: ImageStatus) -> Text:
    style = {BUILT: "green", NOT_BUILT: "dim"}.get(image.state, "yellow")
    cell = Text(image.label, style=style)
    if image.registries:
        cell.append(f"\npushed: {', '.join(image.registries)}", style="dim")
    return cell
