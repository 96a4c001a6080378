"""Where environment definitions and builds live, and where each path came from.

One order of precedence, used by the CLI and the operator alike, so what ``isolationctl env
create``/``env build`` write is where tasks look:

1. an explicit option (the CLI's ``--path`` / ``--build-path``; the operator has none);
2. Airflow's configuration ``[isolation] environments_path`` / ``build_path``. The operator asks
   Airflow (environment variable ``AIRFLOW__ISOLATION__<KEY>``, then ``airflow.cfg``); the CLI,
   which must not import Airflow, reads the same variable and then the ``[isolation]`` section of
   the same ``airflow.cfg`` (:func:`airflow_config_sources`);
3. the project's ``isolation.toml`` (relative paths are relative to the file);
4. the defaults in :data:`DEFAULTS`: ``$AIRFLOW_HOME/environments`` (``AIRFLOW_HOME`` defaulting to
   ``~/airflow``, as in Airflow) and ``~/.cache/airflow-isolation``.

Only the way each caller reads step 2 differs; :func:`locate_path` is the rest. Where a path came
from is kept so messages (and ``isolationctl doctor``) can name it.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

from airflow_isolation.workspace.environment import default_build_path
from airflow_isolation.workspace.project_settings import ProjectSettings
from airflow_isolation.workspace.settings_table import BUILD_PATH, ENVIRONMENTS_PATH, SECTION

ENVIRONMENTS_KEY = ENVIRONMENTS_PATH.name
BUILD_KEY = BUILD_PATH.name
PATH_KEYS = (ENVIRONMENTS_KEY, BUILD_KEY)
AIRFLOW_SECTION = SECTION


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


def airflow_home() -> Path:
    """``$AIRFLOW_HOME``, else ``~/airflow``: Airflow's own default."""
    return Path(os.environ.get("AIRFLOW_HOME") or "~/airflow").expanduser()


def default_environments_path() -> Path:
    return airflow_home() / "environments"


DEFAULTS: Dict[str, Fallback] = {
    ENVIRONMENTS_KEY: Fallback("default $AIRFLOW_HOME/environments", default_environments_path),
    BUILD_KEY: Fallback("default ~/.cache/airflow-isolation", default_build_path),
}


def airflow_variable(key: str) -> str:
    """The environment variable Airflow reads for ``[isolation] <key>``."""
    return f"AIRFLOW__{AIRFLOW_SECTION.upper()}__{key.upper()}"


def environment_variable(name: str) -> Source:
    return Source(f"${name}", os.environ.get(name))


def airflow_config_origin(key: str) -> str:
    return f"Airflow configuration [{AIRFLOW_SECTION}] {key}"


def airflow_config_file() -> Path:
    """The file Airflow reads its configuration from: ``$AIRFLOW_CONFIG``, else ``airflow.cfg`` in
    :func:`airflow_home`."""
    explicit = os.environ.get("AIRFLOW_CONFIG")
    return Path(explicit).expanduser() if explicit else airflow_home() / "airflow.cfg"


def airflow_config_sources(key: str) -> List[Source]:
    """Step 2 without Airflow: its environment variable, then its configuration file's value (with
    ``$VARS`` and ``~`` expanded, as Airflow expands them). An unreadable file sets nothing: it is
    Airflow's to complain about."""
    sources = [environment_variable(airflow_variable(key))]
    path = airflow_config_file()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return sources
    value = parser.get(AIRFLOW_SECTION, key, fallback=None)
    if value:
        value = os.path.expanduser(os.path.expandvars(value.strip()))
    sources.append(Source(f"[{AIRFLOW_SECTION}] {key} in {path}", value))
    return sources


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


def locate_path(
    key: str,
    *,
    option: Optional[Source] = None,
    airflow_config: Sequence[Source],
    project: Callable[[], Optional[ProjectSettings]],
) -> Located:
    """``key`` (one of :data:`PATH_KEYS`) in the order of this module's docstring."""
    sources = [option, *airflow_config] if option is not None else list(airflow_config)
    return locate(key, sources, project, DEFAULTS[key])


def resolve_locations(
    *,
    airflow_config: Callable[[str], Sequence[Source]],
    project: Callable[[], Optional[ProjectSettings]],
    environments_option: Optional[Source] = None,
    build_option: Optional[Source] = None,
) -> Locations:
    """Both paths; ``airflow_config(key)`` is how this caller reads Airflow's ``[isolation] <key>``."""
    return Locations(
        environments=locate_path(
            ENVIRONMENTS_KEY,
            option=environments_option,
            airflow_config=airflow_config(ENVIRONMENTS_KEY),
            project=project,
        ),
        build=locate_path(
            BUILD_KEY, option=build_option, airflow_config=airflow_config(BUILD_KEY), project=project
        ),
    )
