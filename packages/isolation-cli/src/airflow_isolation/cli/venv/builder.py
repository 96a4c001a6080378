"""Building an environment into a content-hashed venv that the operator can trust.

Layout under ``<build_path>/venvs/<name>/``: one ``<content-hash>/`` folder per build, a
``.lock`` file serialising builds of this environment, and ``current.json`` (core's
``BuildManifest``), written last and atomically. A build folder gets its ``.isolation-complete``
marker only after everything is installed and every installed package's ``Requires-Python`` admits
the interpreter; folders without it are never reused and are deleted by the next build, or at once
when that check refuses them.
"""

from __future__ import annotations

import json
import re
import shutil
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from airflow_isolation.cli.builds.files import exclusive_lock, write_json_atomic
from airflow_isolation.cli.builds.hashing import content_hash
from airflow_isolation.cli.builds.runtime_schema import installed_schema
from airflow_isolation.cli.builds.runtime_source import RuntimeSource, find_runtime_source
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.resolve.lock import (
    LOCK_RECORD_FILE,
    compile_lock,
    definition_constraints,
    lock_inputs,
    reuse_or_resolve,
)
from airflow_isolation.cli.resolve.python_finder import Interpreter, find_python, probe
from airflow_isolation.cli.resolve.requires_python import (
    PythonTarget,
    installed_distributions,
    refusal,
    unsupported,
)
from airflow_isolation.cli.resolve.uv_tool import run_uv
from airflow_isolation.cli.settings import Settings
from airflow_isolation.cli.ui import Steps
from airflow_isolation.workspace.environment import (
    BuildManifest,
    EnvironmentDefinition,
    IsolationEnvironmentError,
    definition_digest,
    definition_path,
    load_definition,
    manifest_path,
    read_manifest,
)

MARKER = ".isolation-complete"
LOCK_FILE = ".lock"
LOCK_TEXT_FILE = "isolation.lock.txt"
KEEP_BUILDS = 2
_BUILD_DIR = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BuildPlan:
    """Everything that determines a build, computed before anything on disk is touched."""

    name: str
    definition: EnvironmentDefinition
    definition_file: Path
    definition_digest: str
    interpreter: Interpreter
    runtime: RuntimeSource
    lock_text: str
    content_hash: str
    build_path: Path

    @property
    def env_dir(self) -> Path:
        return manifest_path(self.build_path, self.name).parent

    @property
    def target(self) -> Path:
        return self.env_dir / self.content_hash


@dataclass(frozen=True)
class BuildOutcome:
    """The manifest now in effect and whether it was already current, reused or freshly built."""

    manifest: BuildManifest
    action: str


def plan_build(
    settings: Settings, name: str, python_path: Path | None, steps: Steps, upgrade: bool = False
) -> BuildPlan:
    """The build's plan; the lock is resolved only when the kept one is stale (or ``upgrade``)."""
    definition = load_definition(settings.environments_path, name)
    definition_file = definition_path(settings.environments_path, name)
    with steps.step(f"finding Python {definition.python}"):
        interpreter = find_python(definition.python, python_path)
    steps.note(f"{interpreter.path} (Python {interpreter.version}, via {interpreter.found_by})")
    runtime = find_runtime_source()
    steps.note(f"runtime from {runtime.location}")
    digest = definition_digest(settings.environments_path, name)
    requirements = [*definition.requirements, *runtime.requirements]
    constraints = definition_constraints(definition, definition_file)
    count = len(definition.requirements)
    lock_text = reuse_or_resolve(
        manifest_path(settings.build_path, name).parent / LOCK_RECORD_FILE,
        lock_inputs(digest, f"python {interpreter.version}", requirements, constraints),
        lambda: compile_lock(requirements, interpreter, definition_file, constraints),
        steps=steps,
        what=f"resolving {count} requirement{'s' * (count != 1)} with uv",
        upgrade=upgrade,
    )
    return BuildPlan(
        name=name,
        definition=definition,
        definition_file=definition_file,
        definition_digest=digest,
        interpreter=interpreter,
        runtime=runtime,
        lock_text=lock_text,
        content_hash=content_hash(interpreter.version, lock_text, runtime.version, digest),
        build_path=settings.build_path,
    )


def current_build(plan: BuildPlan) -> BuildManifest | None:
    """The manifest if it already describes exactly this plan's complete, runnable build."""
    try:
        manifest = read_manifest(plan.build_path, plan.name)
    except IsolationEnvironmentError:
        return None
    if manifest is None or manifest.content_hash != plan.content_hash:
        return None
    if not manifest.interpreter.is_file() or not (Path(manifest.venv_path) / MARKER).is_file():
        return None
    return manifest


def build(plan: BuildPlan, steps: Steps, force: bool = False) -> BuildOutcome:
    if not force:
        manifest = current_build(plan)
        if manifest is not None and manifest.runtime_schema:
            return BuildOutcome(manifest, "up-to-date")
    plan.env_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(plan.env_dir / LOCK_FILE, steps):
        if not force:
            manifest = current_build(plan)
            if manifest is not None:
                return BuildOutcome(_with_runtime_schema(plan, manifest), "up-to-date")
        if not force and _is_complete(plan.target):
            (plan.target / MARKER).touch()
            action = "reused"
        else:
            _build_into(plan, steps)
            action = "built"
        manifest = _manifest_for(plan, _installed_schema(plan))
        write_manifest(plan.build_path, manifest)
        for removed in prune(plan.env_dir, keep=plan.target):
            steps.note(f"removed old build {removed.name[:12]}")
        return BuildOutcome(manifest, action)


def _is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / "bin" / "python").is_file()


def _build_into(plan: BuildPlan, steps: Steps) -> None:
    target = plan.target
    with suppress(IsolationEnvironmentError):
        previous = read_manifest(plan.build_path, plan.name)
        if previous is not None and Path(previous.venv_path) == target:
            manifest_path(plan.build_path, plan.name).unlink()
    if target.exists():
        with steps.step(f"discarding unfinished or forced build {target.name[:12]}"):
            shutil.rmtree(target)
    python = target / "bin" / "python"
    with steps.step(f"creating venv {target}"):
        run_uv(
            ["venv", "--python", str(plan.interpreter.path), str(target)],
            what=f"creating the venv {target}",
            hint=f"check that {target.parent} is writable and {plan.interpreter.path} works",
        )
    lock_file = target / LOCK_TEXT_FILE
    lock_file.write_text(plan.lock_text)
    count = len(plan.lock_text.splitlines())
    with steps.step(f"installing {count} locked package{'s' * (count != 1)}"):
        run_uv(
            _pip_install(python, "-r", str(lock_file)),
            what=f"installing the locked requirements of {plan.name!r}",
            hint="a locked package could not be downloaded or built for this Python; check the error "
            f"above and `requirements` in {plan.definition_file}",
        )
    with steps.step("installing airflow-isolation-core and airflow-isolation-runtime"):
        run_uv(
            _pip_install(python, *plan.runtime.refresh_args, *plan.runtime.install_args),
            what=f"installing the runtime from {plan.runtime.location}",
            hint=plan.runtime.fix,
        )
    _check_requires_python(plan, python, steps)
    checked = probe(python, "the new venv")
    if checked is None or checked.version != plan.interpreter.version:
        raise CliError(
            f"the new venv's interpreter {python} does not run as Python {plan.interpreter.version}",
            f"rebuild with `isolationctl env build {plan.name} --force`",
        )
    (target / MARKER).write_text(json.dumps({"content_hash": plan.content_hash, "built_at": _now()}) + "\n")


def _check_requires_python(plan: BuildPlan, python: Path, steps: Steps) -> None:
    """Refuse the venv if an installed package excludes its Python (uv ignores upper bounds); the
    refused folder is deleted, so nothing of it remains to be taken for a build."""
    version = plan.interpreter.version
    with steps.step(f"checking the installed packages' Requires-Python against Python {version}"):
        refused = unsupported(installed_distributions(python), version)
        if refused:
            shutil.rmtree(plan.target, ignore_errors=True)
            raise refusal(refused, PythonTarget(plan.name, plan.definition_file, version))


def _pip_install(python: Path, *args: str) -> list[str]:
    """Exactly the given packages (the lock is already resolved), byte-compiled now: the venv is
    immutable, and a task must not pay for compiling Airflow where PYTHONDONTWRITEBYTECODE is set."""
    return ["pip", "install", "--compile-bytecode", "--python", str(python), "--no-deps", *args]


def _with_runtime_schema(plan: BuildPlan, manifest: BuildManifest) -> BuildManifest:
    """A current build recorded before manifests carried the runtime's schema gets it now: the
    build is unchanged, so nothing else would ever fill it in."""
    if manifest.runtime_schema:
        return manifest
    manifest = msgspec.structs.replace(manifest, runtime_schema=_installed_schema(plan))
    write_manifest(plan.build_path, manifest)
    return manifest


def _installed_schema(plan: BuildPlan) -> str:
    return installed_schema(plan.target / "bin" / "python", f"isolationctl env build {plan.name}")


def _manifest_for(plan: BuildPlan, runtime_schema: str) -> BuildManifest:
    return BuildManifest(
        name=plan.name,
        content_hash=plan.content_hash,
        definition_digest=plan.definition_digest,
        venv_path=str(plan.target),
        python_version=plan.interpreter.version,
        runtime_version=plan.runtime.version,
        built_at=_now(),
        runtime_schema=runtime_schema,
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_manifest(build_path: Path, manifest: BuildManifest) -> None:
    """Replace ``current.json`` atomically so a reader sees the old or the new build, never half."""
    write_json_atomic(manifest_path(build_path, manifest.name), manifest)


def prune(env_dir: Path, keep: Path) -> list[Path]:
    """Delete all but the newest ``KEEP_BUILDS`` complete builds (always keeping ``keep``)."""
    builds = [entry for entry in env_dir.iterdir() if entry.is_dir() and _BUILD_DIR.match(entry.name)]
    complete = sorted(
        (entry for entry in builds if entry != keep and (entry / MARKER).is_file()),
        key=lambda entry: (entry / MARKER).stat().st_mtime,
        reverse=True,
    )
    kept = {keep, *complete[: KEEP_BUILDS - 1]}
    removed = [entry for entry in builds if entry not in kept]
    for entry in removed:
        shutil.rmtree(entry, ignore_errors=True)
    return removed
