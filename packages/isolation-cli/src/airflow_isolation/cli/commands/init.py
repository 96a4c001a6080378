"""``isolationctl init``: scaffold a project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from airflow_isolation.cli import ui
from airflow_isolation.cli.commands.options import guarded
from airflow_isolation.cli.image.registry import validate_registry
from airflow_isolation.cli.project.scaffold import scaffold
from airflow_isolation.workspace.project_settings import SETTINGS_FILE, SETTINGS_FILE_VAR


@guarded
def init(
    directory: Annotated[
        Path, typer.Argument(help="Project folder to scaffold (created if missing).", show_default=False)
    ] = Path("."),
    python: Annotated[str, typer.Option("--python", help="Python of the example environment.")] = "3.11",
    backend: Annotated[
        str, typer.Option("--backend", help="default_backend in isolation.toml: venv, docker or kubernetes.")
    ] = "venv",
    registry: Annotated[
        Optional[str],
        typer.Option(
            "--registry", metavar="HOST:PORT", help="registry in isolation.toml.", show_default=False
        ),
    ] = None,
    base_image: Annotated[
        Optional[str], typer.Option("--base-image", help="base_image in isolation.toml.", show_default=False)
    ] = None,
) -> None:
    """Scaffold a project: isolation.toml, environments/example and a DAG using it (never overwrites)."""
    if registry:
        registry = validate_registry(registry, "--registry")
    result = scaffold(directory, python=python, backend=backend, registry=registry, base_image=base_image)
    ui.say(f"Created an airflow-isolation project in {result.root}:", style="green")
    for created in result.files:
        ui.say(f"  {created.relative_to(result.root)}")
    here = "" if result.root == Path.cwd().absolute() else f"cd {directory} && "
    image = " --target image" if backend == "docker" else ""
    ui.say("Next:")
    ui.say(f"  1. {here}isolationctl env build example{image}")
    ui.say("  2. let Airflow see the project: add dags/ to its DAGs folder, and point the scheduler and")
    ui.say("     workers at the same settings (and so the same environments) as isolationctl:")
    ui.say(f"     {SETTINGS_FILE_VAR}={result.root / SETTINGS_FILE}")
    ui.say("  3. trigger the DAG isolated_example; edit environments/example/environment.toml, then rebuild")
