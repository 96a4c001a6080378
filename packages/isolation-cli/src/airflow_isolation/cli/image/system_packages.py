"""The apt packages an environment's image needs: ``packages`` in the definition plus the
environment folder's ``packages.txt``.

Names end up in a ``RUN apt-get install`` line, so each is checked against Debian's package-name
grammar (no shell metacharacters can slip through); the list is sorted so reordering the file does
not invalidate Docker's layer cache or change the content hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from airflow_isolation.cli.errors import CliError
from airflow_isolation.workspace.environment import EnvironmentDefinition, validate_name

PACKAGES_FILE = "packages.txt"
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.\-]*(?::[a-z0-9\-]+)?(?:=[A-Za-z0-9.+~:\-]+)?$")


def packages_file(environments_path: Path, name: str) -> Path:
    return Path(environments_path) / validate_name(name) / PACKAGES_FILE


def parse_packages_text(text: str) -> list[str]:
    """Whitespace-separated names; ``#`` starts a comment."""
    names: list[str] = []
    for line in text.splitlines():
        names.extend(line.split("#", 1)[0].split())
    return names


def validate_packages(names: Iterable[str], where: str) -> tuple[str, ...]:
    cleaned = set()
    for raw in names:
        name = raw.strip()
        if not _PACKAGE.match(name):
            raise CliError(
                f"{name!r} in {where} is not a Debian package name",
                "use names like `libpq5` or `curl=7.88.1-10+deb12u5`, one per entry, without shell syntax",
            )
        cleaned.add(name)
    return tuple(sorted(cleaned))


def system_packages(environments_path: Path, name: str, definition: EnvironmentDefinition) -> tuple[str, ...]:
    """The sorted, de-duplicated union of the definition's ``packages`` and ``packages.txt``."""
    names = [*validate_packages(definition.packages, f"`packages` of environment {name!r}")]
    path = packages_file(environments_path, name)
    if path.is_file():
        names.extend(validate_packages(parse_packages_text(path.read_text()), str(path)))
    return tuple(sorted(set(names)))
