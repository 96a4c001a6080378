"""``isolationctl env create NAME``: write a new environment definition."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from airflow_isolation.cli import ui
from airflow_isolation.cli.commands.options import PathOption, guarded
from airflow_isolation.cli.definitions.airflow_pins import (
    airflow_requirements,
    official_constraints,
    read_constraints,
)
from airflow_isolation.cli.definitions.sources import import_requirements
from airflow_isolation.cli.definitions.writer import create_definition
from airflow_isolation.cli.settings import resolve_settings

DEFAULT_PYTHON = "3.11"


@guarded
def env_create(
    *,
    name: Annotated[str, typer.Argument(help="Environment name: lowercase letters, digits, '.', '_', '-'.")],
    python: Annotated[
        Optional[str],
        typer.Option(
            "--python",
            help="Python version of the target, e.g. 3.11 or 3.11.7. Default: the --from file's "
            "requires-python, else 3.11.",
            show_default=False,
        ),
    ] = None,
    airflow: Annotated[
        Optional[str],
        typer.Option(
            "--airflow",
            metavar="VERSION",
            help="Add apache-airflow==VERSION and the standard provider (what a wrapped operator needs), "
            "with Airflow's constraints for VERSION and the Python when they can be fetched.",
            show_default=False,
        ),
    ] = None,
    constraints: Annotated[
        Optional[str],
        typer.Option(
            "--constraints",
            metavar="FILE_OR_URL",
            help="A constraints file or URL, copied next to the definition; bounds every lock resolution.",
            show_default=False,
        ),
    ] = None,
    from_file: Annotated[
        Optional[Path],
        typer.Option(
            "--from",
            metavar="FILE",
            help="Take requirements from a requirements.txt, a pyproject.toml ([project] dependencies, "
            "requires-python) or a uv.lock (its locked versions, pinned).",
            show_default=False,
        ),
    ] = None,
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
    imported = import_requirements(from_file) if from_file is not None else None
    target_python = python or (imported.python if imported else None) or DEFAULT_PYTHON
    requirements = [
        *(airflow_requirements(airflow) if airflow else []),
        *(imported.requirements if imported else []),
        *(requirement or []),
    ]
    if constraints is not None:
        constraints_text: str | None = read_constraints(constraints)
    elif airflow is not None:
        constraints_text = official_constraints(airflow, target_python)
    else:
        constraints_text = None
    created = create_definition(
        settings.environments_path,
        name,
        python=target_python,
        requirements=requirements,
        packages=package or [],
        base_image=base_image,
        description=description,
        constraints_text=constraints_text,
    )
    count = len(requirements)
    pinned = " under constraints.txt" if constraints_text is not None else ""
    ui.say(
        f"Created environment {name!r} (Python {target_python}, {count} requirement{'s' * (count != 1)}"
        f"{pinned}): {created}",
        style="green",
    )
    ui.say(
        f"Next: edit it if needed, then run `isolationctl env build {name} --target venv{settings.path_args}`"
    )
