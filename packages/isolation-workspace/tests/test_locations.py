"""The one resolver of the environments and build paths, as the CLI and the operator call it."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Optional

import pytest

from airflow_isolation.workspace.locations import (
    Fallback,
    Source,
    airflow_config_sources,
    default_environments_path,
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
        environments_option=Source("--path", Path("/opt/envs")),
        airflow_config=lambda key: [],
        project=ProjectSettings,
    )

    assert locations.environments.path == Path("/opt/envs")
    assert locations.environments.origin == "--path"
    assert locations.build.path == tmp_path / "airflow-isolation"


def test_resolve_locations_reads_both_paths_from_the_project() -> None:
    locations = resolve_locations(airflow_config=lambda key: [], project=lambda: PROJECT)

    assert locations.environments.path == Path("/p/envs")
    assert (locations.build.path, locations.build.origin) == (
        Path("/srv/builds"),
        "build_path in /p/isolation.toml",
    )


def test_environments_default_to_airflow_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    assert default_environments_path() == tmp_path / "home" / "environments"
    monkeypatch.delenv("AIRFLOW_HOME")
    assert default_environments_path() == Path.home() / "airflow" / "environments"


def test_airflow_config_sources_read_the_variable_then_airflow_cfg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONFIG", raising=False)
    monkeypatch.setenv("SOME_ROOT", "/srv")
    (tmp_path / "airflow.cfg").write_text("[isolation]\nenvironments_path = $SOME_ROOT/envs\n")
    monkeypatch.delenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", raising=False)

    variable, config = airflow_config_sources("environments_path")

    assert variable == Source("$AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", None)
    assert config == Source(f"[isolation] environments_path in {tmp_path / 'airflow.cfg'}", "/srv/envs")
    assert airflow_config_sources("build_path")[1].value is None
