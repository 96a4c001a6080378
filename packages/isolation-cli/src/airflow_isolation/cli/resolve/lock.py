"""Resolving an environment's requirements into a lock on the host, before anything is built.

The lock is what gets installed (with ``--no-deps``), so the target contains exactly what was
hashed. A venv's lock is resolved against its interpreter; an image's against the image's Python
version and platform (``--python-version``/``--python-platform``), never the host's, so markers
and wheel availability match the image. A definition's ``constraints`` (a file next to it, or a
URL) bound the resolution (``-c``), e.g. Airflow's published constraints for its version.

Resolving costs seconds to tens of seconds (an Airflow environment: ~15 s), so a lock is kept next
to the builds with the digest of everything it was resolved from (:func:`reuse_or_resolve`): the
definition file, the constraints, the Python and the runtime's requirements. While those are
unchanged the lock is reused without running the resolver; any edit of the definition re-resolves,
and ``--upgrade`` re-resolves on purpose (to pick up newer releases the definition admits).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from airflow_isolation.cli.builds.files import write_json_atomic
from airflow_isolation.cli.builds.hashing import inputs_digest, normalise_lock
from airflow_isolation.cli.definitions.sources import requirement_name, versioned_names
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.target_platform import TargetPlatform
from airflow_isolation.cli.resolve.python_finder import Interpreter
from airflow_isolation.cli.resolve.uv_tool import run_uv
from airflow_isolation.cli.ui import Steps
from airflow_isolation.workspace.environment import EnvironmentDefinition

LOCK_RECORD_FILE = "lock.json"
LOCK_RECIPE = "airflow-isolation-lock/1"
"""Bumped when the way a lock is resolved changes, so kept locks are resolved again."""


class LockRecord(msgspec.Struct):
    """A resolved lock and the digest of what it was resolved from."""

    inputs: str
    lock_text: str


@dataclass(frozen=True)
class Constraints:
    """What ``-c`` gets: a URL, or a file's text without the lines for packages the requirements
    give a version of (``pandas<2`` overrules a ``pandas==2.1.4`` constraint, as Airflow advises for
    its constraints; a bare ``pandas`` stays constrained). ``identity`` enters the lock's inputs."""

    url: str | None
    text: str | None

    @property
    def identity(self) -> str:
        return self.url or self.text or ""


def definition_constraints(definition: EnvironmentDefinition, definition_file: Path) -> Constraints | None:
    value = definition.constraints
    if not value:
        return None
    if "://" in value:
        return Constraints(url=value, text=None)
    path = (definition_file.parent / value).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(
            f"constraints = {value!r} in {definition_file} cannot be read: {exc}",
            "put the constraints file next to environment.toml, give a URL, or remove the key",
        ) from exc
    named = versioned_names(definition.requirements)
    kept = [line for line in text.splitlines() if requirement_name(line.split("#")[0].strip()) not in named]
    return Constraints(url=None, text="\n".join(kept) + "\n")


def compile_lock(
    requirements: Sequence[str],
    interpreter: Interpreter,
    definition_file: Path,
    constraints: Constraints | None = None,
) -> str:
    """Normalised ``uv pip compile`` output for ``requirements`` on ``interpreter``."""
    return _compile(
        requirements,
        ["--python", str(interpreter.path)],
        definition_file,
        f"Python {interpreter.version}",
        constraints,
    )


def compile_lock_for_platform(
    requirements: Sequence[str],
    platform: TargetPlatform,
    definition_file: Path,
    constraints: Constraints | None = None,
) -> str:
    """Normalised ``uv pip compile`` output for an image's Python and platform."""
    return _compile(
        requirements,
        ["--python-version", platform.python_version, "--python-platform", platform.uv_platform],
        definition_file,
        f"Python {platform.python_version} on {platform.uv_platform}",
        constraints,
    )


def lock_inputs(
    definition_digest: str, target: str, requirements: Sequence[str], constraints: Constraints | None
) -> str:
    """The digest a kept lock must match to be reused."""
    return inputs_digest(
        LOCK_RECIPE,
        definition_digest,
        target,
        "\n".join(requirements),
        constraints.identity if constraints else "",
    )


def reuse_or_resolve(
    record_file: Path, inputs: str, resolve: Callable[[], str], *, steps: Steps, what: str, upgrade: bool
) -> str:
    """The kept lock when its inputs match (and no ``upgrade``), else ``resolve()``'s, kept."""
    if not upgrade:
        kept = _read_record(record_file)
        if kept is not None and kept.inputs == inputs:
            steps.note("lock reused: definition, Python and runtime unchanged (--upgrade re-resolves)")
            return kept.lock_text
    with steps.step(what):
        lock_text = resolve()
    write_json_atomic(record_file, LockRecord(inputs=inputs, lock_text=lock_text))
    return lock_text


def _read_record(path: Path) -> LockRecord | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=LockRecord)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def _compile(
    requirements: Sequence[str],
    target_args: list[str],
    definition_file: Path,
    target: str,
    constraints: Constraints | None,
) -> str:
    with tempfile.TemporaryDirectory(prefix="isolation-lock-") as tmp:
        constraint_args = []
        if constraints is not None and constraints.text is not None:
            constraint_file = Path(tmp) / "constraints.txt"
            constraint_file.write_text(constraints.text)
            constraint_args = ["-c", str(constraint_file)]
        elif constraints is not None and constraints.url:
            constraint_args = ["-c", constraints.url]
        source = Path(tmp) / "requirements.in"
        output = Path(tmp) / "requirements.txt"
        source.write_text("".join(f"{requirement}\n" for requirement in requirements))
        run_uv(
            [
                "pip",
                "compile",
                str(source),
                *target_args,
                *constraint_args,
                "--output-file",
                str(output),
                "--no-header",
                "--no-annotate",
            ],
            what=f"resolving the requirements of {definition_file} for {target}",
            hint=f"fix `requirements` in {definition_file} (uv's explanation is above: a version "
            f"that does not exist, conflicting pins, or no wheel for {target}), then build again",
        )
        return normalise_lock(output.read_text())
