"""The ``isolationctl`` typer application: argument parsing and output only.

Commands delegate to one module each; this file turns their results into rich output and their
:class:`CliError`/core errors into a red message on stderr with exit code 1 (never a traceback).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from airflow_isolation.cli import ui
from airflow_isolation.cli.__about__ import __version__
from airflow_isolation.cli.definition_writer import create_definition
from airflow_isolation.cli.doctor import FAIL, OK, run_checks
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.settings import resolve_settings
from airflow_isolation.cli.status import BUILT, all_statuses
from airflow_isolation.cli.venv_builder import build, plan_build
from airflow_isolation.core.environment import BUILD_PATH_VAR, ENVIRONMENTS_PATH_VAR
from airflow_isolation.core.errors import IsolationError

app = typer.Typer(
    name="isolationctl",
    help="Create, build and check airflow-isolation environments (isolated venvs for Airflow tasks).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
env_app = typer.Typer(
    help="Create, list and build environments (folders holding an environment.toml).",
    no_args_is_help=True,
)
app.add_typer(env_app, name="env")

PathOption = Annotated[
    Optional[Path],
    typer.Option(
        "--path",
        "-p",
        help=f"Folder holding the environments. Default: ${ENVIRONMENTS_PATH_VAR}, else ./environments.",
        show_default=False,
    ),
]
BuildPathOption = Annotated[
    Optional[Path],
    typer.Option(
        "--build-path",
        help=f"Where venvs are built. Default: ${BUILD_PATH_VAR}, else ~/.cache/airflow-isolation.",
        show_default=False,
    ),
]

F = TypeVar("F", bound=Callable[..., None])


def guarded(func: F) -> F:
    """Report expected failures as a message and an exit code instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            func(*args, **kwargs)
        except CliError as exc:
            ui.print_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except IsolationError as exc:
            ui.print_error(CliError(str(exc)))
            raise typer.Exit(1) from None
        except OSError as exc:
            ui.print_error(
                CliError(str(exc), "check that the path exists, is writable and the disk is not full")
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            ui.print_error(CliError("interrupted"))
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


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
    """Create, build and check airflow-isolation environments (isolated venvs for Airflow tasks)."""


class Target(str, Enum):
    venv = "venv"
    image = "image"


@env_app.command("create")
@guarded
def env_create(
    *,
    name: Annotated[str, typer.Argument(help="Environment name: lowercase letters, digits, '.', '_', '-'.")],
    python: Annotated[
        str, typer.Option("--python", help="Python version of the target, e.g. 3.11 or 3.11.7.")
    ] = "3.11",
    requirement: Annotated[
        Optional[list[str]],
        typer.Option(
            "--requirement",
            "-r",
            metavar="SPEC",
            help="A pip requirement specifier; repeat for several.",
            show_default=False,
        ),
    ] = None,
    package: Annotated[
        Optional[list[str]],
        typer.Option(
            "--package",
            metavar="PACKAGE",
            help="A system (apt) package for image builds; repeat for several.",
            show_default=False,
        ),
    ] = None,
    base_image: Annotated[
        Optional[str], typer.Option("--base-image", help="Parent image for image builds.", show_default=False)
    ] = None,
    description: Annotated[
        str, typer.Option("--description", help="Free text describing the environment.")
    ] = "",
    path: PathOption = None,
) -> None:
    """Create NAME/environment.toml in the environments folder (refuses to overwrite)."""
    settings = resolve_settings(path)
    created = create_definition(
        settings.environments_path,
        name,
        python=python,
        requirements=requirement or [],
        packages=package or [],
        base_image=base_image,
        description=description,
    )
    ui.say(f"Created environment {name!r}: {created}", style="green")
    ui.say(
        f"Next: edit it if needed, then run `isolationctl env build {name} --target venv{settings.path_args}`"
    )


@env_app.command("list")
@guarded
def env_list(
    path: PathOption = None,
    build_path: BuildPathOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per environment) for scripts.")
    ] = False,
) -> None:
    """List environments with their Python, requirement count and venv build state."""
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
    for status in statuses:
        style = "green" if status.state == BUILT else "yellow" if status.definition else "red"
        table.add_row(
            status.name,
            status.definition.python if status.definition else "?",
            str(len(status.definition.requirements)) if status.definition else "?",
            Text(status.label, style=style),
            status.manifest.built_at if status.manifest else "",
        )
    ui.stdout().print(table)
    for status in statuses:
        if status.problem:
            ui.warn(f"{status.name}: {status.problem}")


@env_app.command("build")
@guarded
def env_build(
    *,
    name: Annotated[str, typer.Argument(help="Name of the environment to build.")],
    target: Annotated[
        Target, typer.Option("--target", help="What to build: a venv (an image is not implemented yet).")
    ] = Target.venv,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if an up-to-date build exists.")
    ] = False,
    python_path: Annotated[
        Optional[Path],
        typer.Option(
            "--python-path",
            help="Interpreter to build with instead of searching uv/pyenv.",
            show_default=False,
        ),
    ] = None,
    path: PathOption = None,
    build_path: BuildPathOption = None,
) -> None:
    """Build NAME into a content-hashed venv; skip when the current build is up to date."""
    if target is Target.image:
        raise CliError("--target image is not implemented yet: use --target venv", exit_code=2)
    settings = resolve_settings(path, build_path)
    steps = ui.Steps()
    plan = plan_build(settings, name, python_path, steps)
    if plan.definition.packages:
        ui.warn(
            f"`packages` ({', '.join(plan.definition.packages)}) only apply to image builds; "
            "ignored for a venv"
        )
    outcome = build(plan, steps, force=force)
    manifest = outcome.manifest
    short = manifest.content_hash[:12]
    if outcome.action == "up-to-date":
        ui.say(
            f"{name} is up to date ({short}, Python {manifest.python_version}): {manifest.venv_path}",
            style="green",
        )
        return
    verb = "Built" if outcome.action == "built" else "Reused existing build"
    ui.say(
        f"{verb} {name} {short} (Python {manifest.python_version}) in {steps.elapsed:.1f}s: "
        f"{manifest.venv_path}",
        style="green",
    )
    ui.say(f"Tasks can now use environment={name!r} with the venv backend.")


@app.command("doctor")
@guarded
def doctor(path: PathOption = None, build_path: BuildPathOption = None) -> None:
    """Check uv, the environments, their builds and the Airflow host; exit 1 if anything failed."""
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
