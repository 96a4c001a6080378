"""``env create --airflow VERSION``: what an environment needs to run a wrapped Airflow operator.

``apache-airflow==VERSION`` plus the standard provider (``airflow.providers.standard``: the
PythonOperator, BashOperator, ... the README's examples wrap). uv resolves the provider for Airflow
2.9 and later (2.9 gets provider 1.1.0, 2.10 the newest); older Airflow has no compatible release,
so it is left out there, with a warning.

Airflow publishes constraints per version and Python (the set of versions its CI tested). They are
fetched once, at create time, into ``constraints.txt`` next to the definition, so builds never need
GitHub. Where GitHub is unreachable the environment is created without them and the user is told
once how to add them; creating never fails for it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from packaging.version import InvalidVersion, Version

from airflow_isolation.cli import ui
from airflow_isolation.cli.errors import CliError

AIRFLOW_CONSTRAINTS_URL = (
    "https://raw.githubusercontent.com/apache/airflow/constraints-{version}/constraints-{python}.txt"
)
STANDARD_PROVIDER = "apache-airflow-providers-standard"
FIRST_WITH_STANDARD_PROVIDER = Version("2.9")
CONSTRAINTS_FILE = "constraints.txt"
FETCH_TIMEOUT_SECONDS = 5.0


def airflow_requirements(version: str) -> list[str]:
    parsed = _version(version)
    requirements = [f"apache-airflow=={version}"]
    if parsed >= FIRST_WITH_STANDARD_PROVIDER:
        requirements.append(STANDARD_PROVIDER)
    else:
        ui.warn(
            f"Airflow {version} has no compatible {STANDARD_PROVIDER} (it needs 2.9 or later): left out, "
            "so wrap operators by their Airflow 2 paths (airflow.operators.python.PythonOperator)"
        )
    return requirements


def official_constraints_url(version: str, python: str) -> str:
    minor = ".".join(python.strip().split(".")[:2])
    return AIRFLOW_CONSTRAINTS_URL.format(version=_version(version), python=minor)


def read_constraints(source: str) -> str:
    """A constraints file's text from a path or URL; :class:`CliError` when it cannot be had."""
    if "://" not in source:
        path = Path(source).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"--constraints {source}: {exc}", "pass an existing file or a URL") from exc
    try:
        with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_SECONDS) as response:
            return str(response.read().decode("utf-8"))
    except (OSError, urllib.error.URLError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(
            f"cannot fetch constraints from {source}: {exc}",
            "download the file where the URL is reachable and pass --constraints FILE",
        ) from exc


def official_constraints(version: str, python: str) -> str | None:
    """Airflow's constraints for ``version`` on ``python``, or ``None`` (said once) when unreachable."""
    url = official_constraints_url(version, python)
    try:
        return read_constraints(url)
    except CliError as exc:
        ui.warn(
            f"Airflow's constraints could not be fetched ({exc.message}); the environment is created "
            f"without them. To add them: download {url} and pass --constraints FILE (or set "
            f'constraints = "{CONSTRAINTS_FILE}" in environment.toml next to that file)'
        )
        return None


def _version(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion as exc:
        raise CliError(
            f"--airflow {version!r} is not a version", "pass one like 2.10.5", exit_code=2
        ) from exc
