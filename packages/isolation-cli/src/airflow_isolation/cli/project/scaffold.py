"""``isolationctl init``: a project skeleton that works end to end before the user edits anything.

It writes ``isolation.toml``, one example environment and one DAG using it, checks that none of
them exists first (nothing is ever overwritten, and nothing is written if anything is in the way),
and validates the settings and the definition it wrote with core's own loaders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from airflow_isolation.cli.definitions.writer import render_definition, toml_string
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.system_packages import PACKAGES_FILE
from airflow_isolation.cli.resolve.python_finder import parse_request
from airflow_isolation.workspace.environment import DEFINITION_FILE, EnvironmentDefinition, load_definition
from airflow_isolation.workspace.project_settings import (
    BACKENDS,
    SETTINGS_FILE,
    SETTINGS_FILE_VAR,
    load_settings,
)

EXAMPLE_ENVIRONMENT = "example"
ENVIRONMENTS_DIR = "environments"
DAGS_DIR = "dags"
DAG_FILE = "isolated_example.py"
EXAMPLE_REQUIREMENTS = ("humanize>=4",)

PACKAGES_TEXT = """\
# System (apt) packages for image builds of this environment: names separated by spaces or lines,
# `#` starts a comment. Added to `packages` in environment.toml; ignored by venv builds.
"""

DAG_TEXT = '''\
"""airflow-isolation example: two tasks that run in environments/{env}, not in Airflow's Python.

Build the environment first (`isolationctl env build {env}`); editing
environments/{env}/environment.toml then needs a rebuild. Code that runs in the environment imports
what it needs inside the function: the environment's packages are not installed on the host.
"""

from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

from airflow_isolation.operator import IsolatedOperator


def describe_target() -> dict:
    """Runs in the isolated environment: report its Python and a package the host does not need."""
    import importlib.metadata
    import platform
    import sys

    return {{
        "python": platform.python_version(),
        "executable": sys.executable,
        "humanize": importlib.metadata.version("humanize"),
    }}


with DAG(
    dag_id="isolated_example",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["airflow-isolation"],
) as dag:
    # An operator-style task; pass backend="docker" to run it in the environment's image instead.
    target = IsolatedOperator(
        task_id="describe_target", environment="{env}", python_callable=describe_target
    )

    @task.isolated(environment="{env}")
    def human_sizes(sizes: list[int]) -> list[str]:
        import humanize

        return [humanize.naturalsize(size) for size in sizes]

    target >> human_sizes([1_000, 2_500_000, 7_000_000_000])
'''


@dataclass(frozen=True)
class Scaffold:
    """What ``init`` wrote."""

    root: Path
    files: list[Path]


def settings_text(backend: str, registry: str | None, base_image: str | None) -> str:
    registry_line = f"registry = {toml_string(registry)}" if registry else '# registry = "localhost:5000"'
    base_line = '# base_image = "python:3.11-slim-bookworm"'
    if base_image:
        base_line = f"base_image = {toml_string(base_image)}"
    return "\n".join(
        [
            "# airflow-isolation project settings. isolationctl finds this file from the working",
            f"# directory upwards; Airflow workers find it through ${SETTINGS_FILE_VAR}. Relative",
            "# paths are relative to this file.",
            f"#   default_backend    {' | '.join(BACKENDS)}: where isolated tasks run unless they say",
            "#   registry           where `isolationctl env push` pushes and image builds look first",
            "#   base_image         parent image of environment images (an environment may override it)",
            "#   environments_path  folder holding one <name>/environment.toml per environment",
            "#   build_path         where venvs and manifests are built (default ~/.cache/airflow-isolation)",
            "",
            f"default_backend = {toml_string(backend)}",
            registry_line,
            base_line,
            f"environments_path = {toml_string(ENVIRONMENTS_DIR)}",
            "",
        ]
    )


def scaffold(
    root: Path,
    *,
    python: str,
    backend: str = "venv",
    registry: str | None = None,
    base_image: str | None = None,
) -> Scaffold:
    """Write the skeleton under ``root``; refuse (writing nothing) if any of its files exists."""
    if backend not in BACKENDS:
        raise CliError(f"--backend {backend!r} is not a backend", f"use one of {', '.join(BACKENDS)}")
    parse_request(python)
    root = root.absolute()
    environment = root / ENVIRONMENTS_DIR / EXAMPLE_ENVIRONMENT
    definition = EnvironmentDefinition(
        python=python,
        requirements=list(EXAMPLE_REQUIREMENTS),
        description="Example environment written by `isolationctl init`: replace with your requirements",
    )
    files = {
        root / SETTINGS_FILE: settings_text(backend, registry, base_image),
        environment / DEFINITION_FILE: render_definition(EXAMPLE_ENVIRONMENT, definition),
        environment / PACKAGES_FILE: PACKAGES_TEXT,
        root / DAGS_DIR / DAG_FILE: DAG_TEXT.format(env=EXAMPLE_ENVIRONMENT),
    }
    existing = [path for path in files if path.exists()]
    if existing:
        raise CliError(
            f"not overwriting existing files: {', '.join(str(path) for path in existing)}",
            "run `isolationctl init` in an empty folder (or a new one: `isolationctl init DIR`), or move "
            "those files away",
        )
    written = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
            written.append(path)
        load_settings(root / SETTINGS_FILE)
        load_definition(root / ENVIRONMENTS_DIR, EXAMPLE_ENVIRONMENT)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return Scaffold(root, written)
