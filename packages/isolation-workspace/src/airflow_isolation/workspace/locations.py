"""Where environment definitions and builds live, and where each path came from.

The CLI and the operator find these two paths from different sources: the CLI from its options, the
environment variables and the ``isolation.toml`` above the working directory; the operator from
Airflow's ``[isolation]`` configuration (which it reads and passes in: this package never imports
Airflow) and the ``isolation.toml`` a worker is pointed at. Each caller lists its sources in its own
order of precedence; the first one that is set wins, then the project file, then the caller's
default. Where a path came from is kept so messages can name it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

from airflow_isolation.workspace.environment import default_build_path
from airflow_isolation.workspace.project_settings import ProjectSettings

ENVIRONMENTS_KEY = "environments_path"
BUILD_KEY = "build_path"


@dataclass(frozen=True)
class Source:
    """A value that sets a path when it is set (not ``None``, not empty), and its name in messages."""

    origin: str
    value: Union[str, Path, None]


@dataclass(frozen=True)
class Fallback:
    """The path used when no source and no project setting gives one; computed only then."""

    origin: str
    path: Callable[[], Path]


@dataclass(frozen=True)
class Located:
    path: Path
    origin: str


@dataclass(frozen=True)
class Locations:
    environments: Located
    build: Located


def environment_variable(name: str) -> Source:
    return Source(f"${name}", os.environ.get(name))


def default_build() -> Fallback:
    return Fallback("default build folder", default_build_path)


def locate(
    key: str,
    sources: Sequence[Source],
    project: Callable[[], Optional[ProjectSettings]],
    fallback: Fallback,
) -> Located:
    """The first set source, else ``key`` of the project settings, else ``fallback``.

    ``project`` is only called when no source is set, so a project file is not read (and cannot
    fail) when an explicit setting makes it irrelevant.
    """
    for source in sources:
        if source.value:
            return Located(Path(source.value), source.origin)
    settings = project()
    if settings is not None:
        path = settings.resolve(getattr(settings, key))
        if path is not None:
            return Located(path, f"{key} in {settings.source}")
    return Located(fallback.path(), fallback.origin)


def resolve_locations(
    *,
    environments: Sequence[Source],
    build: Sequence[Source],
    project: Optional[ProjectSettings],
    default_environments: Fallback,
) -> Locations:
    """Both paths from the same project settings; builds default to the user's cache folder."""
    return Locations(
        environments=locate(ENVIRONMENTS_KEY, environments, lambda: project, default_environments),
        build=locate(BUILD_KEY, build, lambda: project, default_build()),
    )
