"""``env build``/``push``/``warm`` with ``--all``: one step run over every environment in a batch.

Every environment is tried even when one fails (a deploy wants to know everything that is broken
at once); each failure is reported as it happens, the summary table lists them all, and the
command exits 1 if any failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import typer
from rich.table import Table
from rich.text import Text

from airflow_isolation.cli import ui
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.settings import Settings
from airflow_isolation.core.errors import IsolationError
from airflow_isolation.workspace.environment import list_environment_names

FAILED = "failed"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Done:
    """What one environment's step did: ``result`` (built, up-to-date, pushed, ...) and where."""

    result: str
    where: str


@dataclass(frozen=True)
class Row:
    name: str
    target: str
    result: str
    where: str
    seconds: float


def one_name_or_all(name: str | None, every: bool, command: str) -> None:
    """Refuse ``NAME --all`` and neither, with the usage that works."""
    if (name is None) == (not every):
        raise CliError(
            "give one environment NAME or --all, not both" if every else "no environment given",
            f"run `isolationctl env {command} NAME` for one environment or "
            f"`isolationctl env {command} --all` for every one",
            exit_code=2,
        )


def names(settings: Settings, command: str) -> list[str]:
    """Every environment's name; refused when there is none to ``command``."""
    found = list_environment_names(settings.environments_path)
    if not found:
        raise CliError(
            f"no environments to {command} in {settings.environments_path} ({settings.environments_origin})",
            f"create one with `isolationctl env create NAME{settings.path_args}`, or point --path at "
            "your environments folder",
        )
    return found


def run_each(names: Sequence[str], target: str, step: Callable[[str], Done]) -> list[Row]:
    """``step(name)`` for every name, timing each and turning its failure into a row."""
    rows = []
    for name in names:
        ui.say(f"── {name} ({target})", style="bold")
        began = time.monotonic()
        try:
            done = step(name)
        except CliError as exc:
            ui.print_error(exc)
            done = Done(FAILED, exc.message)
        except (IsolationError, OSError) as exc:
            ui.print_error(CliError(str(exc)))
            done = Done(FAILED, str(exc))
        rows.append(Row(name, target, done.result, done.where, time.monotonic() - began))
    return rows


def report(rows: Sequence[Row], title: str) -> None:
    """The summary table; exit 1 when any row failed."""
    table = Table(title=title, title_justify="left")
    table.add_column("environment", style="bold", no_wrap=True)
    table.add_column("target", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("tag / path", overflow="fold")
    table.add_column("time", justify="right", no_wrap=True)
    for row in rows:
        style = {FAILED: "bold red", SKIPPED: "dim"}.get(row.result, "green")
        table.add_row(
            row.name, row.target, Text(row.result, style=style), Text(row.where), f"{row.seconds:.1f}s"
        )
    ui.stdout().print(table)
    failed = [row.name for row in rows if row.result == FAILED]
    if failed:
        ui.stderr().print(
            Text(f"{len(failed)} of {len(rows)} failed: {', '.join(failed)} (errors above)", style="bold red")
        )
        raise typer.Exit(1)
