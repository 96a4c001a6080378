"""Content hashes that decide whether a build can be reused.

A build is identified by everything that changes what ends up in the venv, and by nothing else:
the exact interpreter version, the resolved lock, the runtime that gets installed and the
definition file. Inputs are length-prefixed so no two different input sets can collide by
concatenation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec

from airflow_isolation.workspace.environment import EnvironmentDefinition

_INLINE_COMMENT = re.compile(r"\s+#.*$")
_IGNORED_PARTS = frozenset({"__pycache__"})
_IGNORED_SUFFIXES = frozenset({".pyc", ".pyo"})


def normalise_lock(text: str) -> str:
    """The lock's requirement lines only: uv's header, annotations and blank lines vary by run."""
    lines = []
    for raw in text.splitlines():
        line = _INLINE_COMMENT.sub("", raw).strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return "\n".join(lines) + "\n"


BUILD_RECIPE = "airflow-isolation-venv/2"
"""Bumped when the way a venv is built changes (2: byte-compiled at build time), so older builds
are rebuilt rather than reused."""


IMAGE_RECIPE = "airflow-isolation-image/1"
"""Bumped when the way images are built changes in a way the recipe digest (the Dockerfile's shape
and the in-image installer, see ``build_context.recipe_digest``) does not show."""


def _digest_parts(parts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def content_hash(python_version: str, lock_text: str, runtime_version: str, definition_digest: str) -> str:
    return _digest_parts((BUILD_RECIPE, python_version, lock_text, runtime_version, definition_digest))


def image_content_hash(
    *,
    recipe: str,
    base_image_id: str,
    platform: str,
    python_version: str,
    lock_text: str,
    packages: Sequence[str],
    runtime_version: str,
    definition_digest: str,
) -> str:
    """The identity of an image: its tag, also across machines (a registry hit skips the build)."""
    return _digest_parts(
        (
            IMAGE_RECIPE,
            recipe,
            base_image_id,
            platform,
            python_version,
            lock_text,
            "\n".join(packages),
            runtime_version,
            definition_digest,
        )
    )


_LATER_OPTIONAL_FIELDS = ("constraints",)
"""Fields added after images were first tagged: left out while unset so existing tags stay valid."""


def effective_definition_digest(definition: EnvironmentDefinition) -> str:
    """The definition's meaning without its ``description`` and formatting: editing prose or
    comments must not rebuild (and re-push) an image whose contents would be identical."""
    meaningful = msgspec.to_builtins(msgspec.structs.replace(definition, description=""))
    for key in _LATER_OPTIONAL_FIELDS:
        if meaningful.get(key) is None:
            meaningful.pop(key, None)
    return hashlib.sha256(msgspec.json.encode(meaningful)).hexdigest()


def inputs_digest(*parts: str) -> str:
    """A collision-free digest of ``parts`` (length-prefixed, like the content hashes)."""
    return _digest_parts(parts)


def _source_files(root: Path, entry: Path) -> Iterable[Path]:
    if entry.is_file():
        yield entry
        return
    for path in sorted(entry.rglob("*")):
        relative = path.relative_to(root)
        if (
            path.is_file()
            and not _IGNORED_PARTS.intersection(relative.parts)
            and path.suffix not in _IGNORED_SUFFIXES
        ):
            yield path


def tree_digest(root: Path, entries: Iterable[str]) -> str:
    """sha256 over the relative path and bytes of every file under ``entries`` (files or folders)."""
    digest = hashlib.sha256()
    for name in entries:
        for path in _source_files(root, root / name):
            relative = path.relative_to(root).as_posix().encode()
            data = path.read_bytes()
            digest.update(len(relative).to_bytes(8, "big") + relative)
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()
