"""``isolationctl doctor``: uv, the venv sandbox, the environments, their builds, the Airflow host."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from airflow_isolation.cli import ui
from airflow_isolation.cli.checks.health import FAIL, OK, run_checks
from airflow_isolation.cli.commands.options import BuildPathOption, PathOption, guarded
from airflow_isolation.cli.settings import resolve_settings


@guarded
def doctor(path: PathOption = None, build_path: BuildPathOption = None) -> None:
    """Check uv, the venv sandbox, the environments, builds and the Airflow host; exit 1 on a failure."""
    settings = resolve_settings(path, build_path)
    checks = run_checks(settings)
    table = Table(title="isolationctl doctor", title_justify="left", show_lines=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("result")
    marks = {OK: Text(ui.OK, style="green"), FAIL: Text(ui.FAIL, style="bold red")}
    for check in checks:
        result = Text(check.detail)
        if check.fix:
            result.append(f"\nfix: {check.fix}", style="red" if check.status == FAIL else "yellow")
        table.add_row(marks.get(check.status, Text(ui.WARN, style="yellow")), check.name, result)
    ui.stdout().print(table)
    failed = [check for check in checks if check.status == FAIL]
    if failed:
        ui.stderr().print(Text(f"{len(failed)} check(s) failed; see the fix lines above.", style="bold red"))
        raise typer.Exit(1)
    ui.say("All checks passed.", style="green")
