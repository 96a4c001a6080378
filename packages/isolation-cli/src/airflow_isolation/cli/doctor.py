"""``isolationctl doctor``: every precondition of building and running isolated tasks, checked.

Each check says what it found and, when it fails, the one thing to do about it. Host-only facts
(Airflow, the operator package) are warnings: a build machine does not need them.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
from dataclasses import dataclass

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.settings import Settings
from airflow_isolation.cli.status import INVALID, all_statuses
from airflow_isolation.cli.uv_tool import UV_INSTALL_HINT, find_uv, uv_version
from airflow_isolation.core.environment import ENVIRONMENTS_PATH_VAR, EnvironmentError_, resolve_venv

OK = "ok"
WARN = "warn"
FAIL = "fail"
_RUNTIME_PROBE = "import importlib.metadata as m; print(m.version('airflow-isolation-runtime'))"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table."""

    name: str
    status: str
    detail: str
    fix: str = ""


def check_uv() -> Check:
    path = find_uv()
    if path is None:
        return Check("uv", FAIL, "not found on PATH", UV_INSTALL_HINT)
    try:
        version = uv_version()
    except CliError as exc:
        return Check("uv", FAIL, f"{path} does not run: {exc.message}", UV_INSTALL_HINT)
    return Check("uv", OK, f"{version} ({path})")


def check_environments(settings: Settings) -> list[Check]:
    root = settings.environments_path
    source = settings.describe_environments_source()
    if not root.is_dir():
        return [
            Check(
                "environments path",
                FAIL,
                f"{root} (from {source}) does not exist",
                f"create an environment with `isolationctl env create NAME{settings.path_args}`, or point "
                f"--path / ${ENVIRONMENTS_PATH_VAR} at your environments folder",
            )
        ]
    statuses = all_statuses(settings)
    names = ", ".join(status.name for status in statuses)
    if not statuses:
        return [
            Check(
                "environments path",
                WARN,
                f"{root} (from {source}) holds no environments",
                f"create one with `isolationctl env create NAME{settings.path_args}`",
            )
        ]
    checks = [Check("environments path", OK, f"{root} (from {source}): {names}")]
    for status in statuses:
        if status.state == INVALID:
            checks.append(
                Check(
                    f"{status.name}: definition",
                    FAIL,
                    status.problem,
                    f"edit {root / status.name / 'environment.toml'}",
                )
            )
            continue
        count = len(status.definition.requirements)
        detail = f"python {status.definition.python}, {count} requirement{'s' * (count != 1)}"
        checks.append(Check(f"{status.name}: definition", OK, detail))
        checks.append(check_build(settings, status.name))
    return checks


def check_build(settings: Settings, name: str) -> Check:
    label = f"{name}: venv"
    build = f"isolationctl env build {name} --target venv{settings.path_args}"
    try:
        manifest = resolve_venv(settings.environments_path, settings.build_path, name)
    except EnvironmentError_ as exc:
        return Check(label, FAIL, str(exc), f"run `{build}`")
    try:
        proc = subprocess.run(
            [str(manifest.interpreter), "-c", _RUNTIME_PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(label, FAIL, f"{manifest.interpreter} does not run: {exc}", f"run `{build} --force`")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Check(
            label,
            FAIL,
            f"{manifest.interpreter} cannot find airflow-isolation-runtime: {last}",
            f"run `{build} --force`",
        )
    return Check(
        label,
        OK,
        f"built {manifest.content_hash[:12]} at {manifest.built_at}, Python {manifest.python_version}, "
        f"runtime {proc.stdout.strip()}",
    )


def check_build_path(settings: Settings) -> Check:
    if settings.build_path.is_dir():
        return Check("build path", OK, str(settings.build_path))
    return Check("build path", WARN, f"{settings.build_path} does not exist yet (nothing built)")


def check_distribution(distribution: str, label: str, fix: str) -> Check:
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return Check(label, WARN, f"{distribution} is not installed in this Python", fix)
    return Check(label, OK, f"{distribution} {version}")


def run_checks(settings: Settings) -> list[Check]:
    return [
        check_uv(),
        *check_environments(settings),
        check_build_path(settings),
        check_distribution(
            "apache-airflow",
            "host Airflow",
            "only needed where tasks run: install apache-airflow in the scheduler/worker Python",
        ),
        check_distribution(
            "airflow-isolation-operator",
            "isolation operator",
            "install airflow-isolation-operator next to Airflow on the scheduler/worker",
        ),
    ]
