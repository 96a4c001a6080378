"""The one resolver of the environments and build paths, as the CLI and the operator call it."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Optional

import pytest

from airflow_isolation.workspace.locations import (
    Fallback,
    Source,
    environment_variable,
    locate,
    resolve_locations,
)
from airflow_isolation.workspace.project_settings import ProjectSettings

PROJECT = ProjectSettings(environments_path="envs", build_path="/srv/builds", source="/p/isolation.toml")
DEFAULT = Fallback("default ./environments", lambda: Path("environments"))


def _no_project() -> NoReturn:
    raise AssertionError("the project settings were read although a source was set")


def test_the_first_set_source_wins_and_is_named() -> None:
    sources = [Source("--path", None), Source("$VAR", ""), Source("$OTHER", "/from/other")]

    located = locate("environments_path", sources, _no_project, DEFAULT)

    assert (located.path, located.origin) == (Path("/from/other"), "$OTHER")


def test_the_project_file_comes_next_relative_to_itself() -> None:
    located = locate("environments_path", [Source("--path", None)], lambda: PROJECT, DEFAULT)

    assert (located.path, located.origin) == (Path("/p/envs"), "environments_path in /p/isolation.toml")


@pytest.mark.parametrize("project", [None, ProjectSettings()])
def test_the_fallback_is_last(project: Optional[ProjectSettings]) -> None:
    located = locate("environments_path", [], lambda: project, DEFAULT)

    assert (located.path, located.origin) == (Path("environments"), "default ./environments")


def test_environment_variable_is_a_named_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PATH", "/x")
    monkeypatch.delenv("UNSET_PATH", raising=False)

    assert environment_variable("SOME_PATH") == Source("$SOME_PATH", "/x")
    assert environment_variable("UNSET_PATH") == Source("$UNSET_PATH", None)


def test_resolve_locations_defaults_builds_to_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AIRFLOW__ISOLATION__BUILD_PATH", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    locations = resolve_locations(
        environments=[Source("--path", Path("/opt/envs"))],
        build=[],
        project=ProjectSettings(),
        default_environments=DEFAULT,
    )

    assert locations.environments.path == Path("/opt/envs")
    assert locations.environments.origin == "--path"
    assert locations.build.path == tmp_path / "airflow-isolation"


def test_resolve_locations_reads_both_paths_from_the_project() -> None:
    locations = resolve_locations(environments=[], build=[], project=PROJECT, default_environments=DEFAULT)

    assert locations.environments.path == Path("/p/envs")
    assert (locations.build.path, locations.build.origin) == (
        Path("/srv/builds"),
        "build_path in /p/isolation.toml",
    )
