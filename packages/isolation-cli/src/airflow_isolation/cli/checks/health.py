"""``isolationctl doctor``: every precondition of building and running isolated tasks, checked.

Each check says what it found and, when it fails, the one thing to do about it. Host-only facts
(Airflow, the operator package) are warnings: a build machine does not need them. So is a missing
Docker engine: venvs work without it; only images need it, and an image that was built but is out
of date or gone is a failure.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from airflow_isolation.cli.checks.runtime_schema import rebuild_command, schema_lag
from airflow_isolation.cli.checks.status import INVALID, all_statuses
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image import docker_engine
from airflow_isolation.cli.resolve.uv_tool import UV_INSTALL_HINT, find_uv, uv_version
from airflow_isolation.cli.settings import Settings, read
from airflow_isolation.core import SCHEMA_VERSION
from airflow_isolation.core.launch import IMAGE_PYTHON
from airflow_isolation.workspace import warm as warm_runtime
from airflow_isolation.workspace.environment import (
    ENVIRONMENTS_PATH_VAR,
    ImageManifest,
    IsolationEnvironmentError,
    read_image_manifest,
    read_manifest,
    resolve_image,
    resolve_venv,
)
from airflow_isolation.workspace.project_settings import SETTINGS_FILE_VAR
from airflow_isolation.workspace.sandbox import SandboxModeError, SandboxUnavailable, decide
from airflow_isolation.workspace.settings_table import VENV_SANDBOX

OK = "ok"
WARN = "warn"
FAIL = "fail"
_RUNTIME_PROBE = (
    "import importlib.metadata as m, json; from airflow_isolation.core import SCHEMA_VERSION as s; "
    "print(json.dumps([m.version('airflow-isolation-runtime'), m.version('airflow-isolation-core'), "
    "s.major, s.minor]))"
)
"""Run by the environment's own Python: what it would answer to a request from this host."""


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


def connect_docker() -> tuple[Check, Any]:
    """The engine check and, when it answered, a client for the image checks."""
    try:
        engine = docker_engine.connect()
    except CliError as exc:
        return (
            Check(
                "docker engine",
                WARN,
                f"{exc.message}; only image builds and backend='docker' need it",
                exc.hint,
            ),
            None,
        )
    return Check(
        "docker engine", OK, f"Docker {engine.version} (API {engine.api_version}) at {engine.address}"
    ), (engine.client)


def check_image(settings: Settings, name: str, client: Any) -> Check | None:
    """Only for environments that have an image manifest: images are opt-in."""
    label = f"{name}: image"
    build = rebuild_command(name, image=True, path_args=settings.path_args)
    try:
        if read_image_manifest(settings.build_path, name) is None:
            return None
        manifest = resolve_image(settings.environments_path, settings.build_path, name)
    except IsolationEnvironmentError as exc:
        return Check(label, FAIL, str(exc), f"run `{build}`")
    return flag_schema_lag(_image_presence(manifest, client, label, build), manifest.runtime_schema, build)


def _image_presence(manifest: ImageManifest, client: Any, label: str, build: str) -> Check:
    pushed = f"; pushed as {', '.join(manifest.pushed)}" if manifest.pushed else ""
    if client is None:
        return Check(label, WARN, f"{manifest.image}{pushed}; presence not checked (no Docker engine)")
    for reference in (manifest.image, manifest.image_id):
        try:
            client.images.get(reference)
        except docker.errors.ImageNotFound:
            continue
        except docker_engine.DOCKER_ERRORS as exc:
            return Check(
                label, WARN, f"cannot ask the engine for {manifest.image}: {docker_engine.explain(exc)}"
            )
        built = (
            f"{manifest.image} ({manifest.image_id[7:19]}), Python {manifest.python_version}, "
            f"{manifest.platform}, built {manifest.built_at}{pushed}"
        )
        return _probe_image(client, label, reference, built, build)
    if manifest.pushed:
        return Check(label, OK, f"not in this engine; workers pull it{pushed}")
    return Check(
        label, FAIL, f"{manifest.image} is gone from this engine and was never pushed", f"run `{build}`"
    )


def _probe_image(client: Any, label: str, reference: str, built: str, rebuild: str) -> Check:
    """The runtime probe in a throwaway container of the image (no network, removed after)."""
    try:
        output = client.containers.run(
            reference,
            [IMAGE_PYTHON, "-c", _RUNTIME_PROBE],
            remove=True,
            network_disabled=True,
            stderr=True,
        )
    except docker.errors.ContainerError as exc:
        return Check(
            label,
            FAIL,
            f"{built}; no runnable airflow-isolation runtime in it: {exc}",
            f"run `{rebuild} --force`",
        )
    except docker_engine.DOCKER_ERRORS as exc:
        return Check(label, WARN, f"{built}; runtime not checked: {docker_engine.explain(exc)}")
    return schema_verdict(label, built, output.decode(errors="replace"), rebuild)


def check_environments(settings: Settings, client: Any = None) -> list[Check]:
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
        definition = status.definition
        assert definition is not None  # every state but INVALID carries the parsed definition
        count = len(definition.requirements)
        detail = f"python {definition.python}, {count} requirement{'s' * (count != 1)}"
        checks.append(Check(f"{status.name}: definition", OK, detail))
        checks.append(check_build(settings, status.name))
        warm = check_warm(settings, status.name)
        if warm is not None:
            checks.append(warm)
        image = check_image(settings, status.name, client)
        if image is not None:
            checks.append(image)
    return checks


def check_build(settings: Settings, name: str) -> Check:
    label = f"{name}: venv"
    build = f"isolationctl env build {name} --target venv{settings.path_args}"
    try:
        if read_manifest(settings.build_path, name) is None and _has_image(settings, name):
            return Check(label, WARN, "not built as a venv (only as an image, enough for backend='docker')")
        manifest = resolve_venv(settings.environments_path, settings.build_path, name)
    except IsolationEnvironmentError as exc:
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
    built = f"built {manifest.content_hash[:12]} at {manifest.built_at}, Python {manifest.python_version}"
    rebuild = rebuild_command(name, image=False, path_args=settings.path_args)
    return flag_schema_lag(
        schema_verdict(label, built, proc.stdout, rebuild), manifest.runtime_schema, rebuild
    )


def check_warm(settings: Settings, name: str) -> Check | None:
    """Whether the warm runtime of the environment's current venv build runs for this user, and
    its memory; ``None`` when there is no venv build."""
    manifest = read_manifest(settings.build_path, name)
    if manifest is None:
        return None
    label = f"{name}: warm runtime"
    processes = warm_runtime.running(manifest)
    if not processes:
        return Check(
            label,
            OK,
            "not running: the first venv task starts it (or `isolationctl env warm "
            f"{name}{settings.path_args}` ahead of it)",
        )
    described = "; ".join(f"pid {process.pid}, {process.rss_text}" for process in processes)
    return Check(label, OK, f"running for build {manifest.content_hash[:12]}: {described}")


def schema_verdict(label: str, built: str, probe_output: str, rebuild: str) -> Check:
    """Whether the runtime inside an environment accepts the wire schema this host speaks: the same
    major (``core.check_compatible``); an older minor does not know the host's newest fields."""
    try:
        runtime, core, major, minor = json.loads(probe_output.strip().splitlines()[-1])
    except (ValueError, IndexError, TypeError):
        unreadable = f"{built}; unreadable runtime probe: {probe_output.strip()!r}"
        return Check(label, FAIL, unreadable, f"run `{rebuild} --force`")
    inside = f"runtime {runtime}, core {core} (schema {major}.{minor})"
    host = f"this host speaks schema {SCHEMA_VERSION}"
    if major != SCHEMA_VERSION.major:
        return Check(
            label,
            FAIL,
            f"{built}, {inside}: it refuses requests from this host ({host}; majors must match)",
            f"rebuild with `{rebuild}` using the airflow-isolation-cli released with this host's operator",
        )
    if minor < SCHEMA_VERSION.minor:
        return Check(
            label,
            WARN,
            f"{built}, {inside}: older than this host ({host}); newer options are ignored there",
            f"rebuild with `{rebuild}`",
        )
    return Check(label, OK, f"{built}, {inside}, accepts this host's schema {SCHEMA_VERSION}")


def flag_schema_lag(check: Check, runtime_schema: str, rebuild: str) -> Check:
    """``check`` as a warning naming the facets the build's runtime lacks, by its manifest's
    ``runtime_schema`` (what the host judges tasks by); a failure stays a failure."""
    lag = schema_lag(runtime_schema)
    if not lag or check.status == FAIL:
        return check
    return Check(check.name, WARN, f"{check.detail}; {lag}", f"rebuild with `{rebuild}`")


def _has_image(settings: Settings, name: str) -> bool:
    try:
        return read_image_manifest(settings.build_path, name) is not None
    except IsolationEnvironmentError:
        return True


def check_build_path(settings: Settings) -> Check:
    where = f"{settings.build_path} (from {settings.build_origin})"
    if settings.build_path.is_dir():
        return Check("build path", OK, where)
    return Check("build path", WARN, f"{where} does not exist yet (nothing built)")


def check_settings_file(settings: Settings) -> Check:
    """Which ``isolation.toml`` applies, and whether workers see it too."""
    found = settings.settings_file
    if found is None:
        return Check("isolation.toml", OK, f"none (searched from {Path.cwd()} upwards)")
    if settings.settings_file_hidden_from_workers:
        return Check(
            "isolation.toml",
            WARN,
            f"{found}, found from the working directory; the operator reads an isolation.toml only "
            f"through ${SETTINGS_FILE_VAR}, so its paths apply to this command but not to tasks",
            f"export {SETTINGS_FILE_VAR}={found} on the scheduler and workers",
        )
    return Check("isolation.toml", OK, f"{found} (from ${SETTINGS_FILE_VAR})")


def check_sandbox() -> Check:
    """What ``[isolation] venv_sandbox`` gives venv tasks on this machine, tried as a task tries it
    (``workspace.sandbox.decide``): a worker that silently runs tasks unsandboxed is what the
    setting's ``auto`` allows, so the doctor is where it is said plainly."""
    label = "venv sandbox"
    mode = read(VENV_SANDBOX).strip().lower()
    try:
        decision = decide(mode)
    except SandboxModeError as exc:
        return Check(label, FAIL, str(exc), "set [isolation] venv_sandbox to auto, required or off")
    except SandboxUnavailable as exc:
        return Check(
            label,
            FAIL,
            f"every venv task fails here: {exc}",
            "make the sandbox possible (above), or set [isolation] venv_sandbox = auto",
        )
    if decision.availability is None:
        return Check(
            label,
            WARN,
            "off ([isolation] venv_sandbox = off): venv tasks run unsandboxed and can read what the "
            "worker's user can (its processes' environments, airflow.cfg, the metadata database file)",
            "set [isolation] venv_sandbox = auto (or required) where tasks should not",
        )
    if decision.sandboxed:
        return Check(
            label,
            OK,
            f"venv tasks run sandboxed (venv_sandbox = {mode}): {decision.availability.reason}",
        )
    return Check(
        label,
        WARN,
        f"venv tasks run unsandboxed here (venv_sandbox = auto) and can read what the worker's user "
        f"can: {decision.availability.reason}",
        "make the sandbox possible as said, or set [isolation] venv_sandbox = required to refuse "
        "unsandboxed tasks",
    )


def check_distribution(distribution: str, label: str, fix: str) -> Check:
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return Check(label, WARN, f"{distribution} is not installed in this Python", fix)
    return Check(label, OK, f"{distribution} {version}")


def run_checks(settings: Settings) -> list[Check]:
    docker_check, client = connect_docker()
    return [
        check_uv(),
        docker_check,
        check_settings_file(settings),
        check_sandbox(),
        *check_environments(settings, client),
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
