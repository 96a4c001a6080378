"""Where the CLI finds environments and builds, and how it reads other ``[isolation]`` options."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_isolation.cli.settings import raw, read, resolve_settings
from airflow_isolation.workspace.settings_table import (
    KUBERNETES_NAMESPACE,
    WARM_RUNTIME,
    WARM_RUNTIME_IDLE_SECONDS,
)


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(tmp_path / "from-env"))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(tmp_path / "build-env"))

    from_env = resolve_settings()
    assert from_env.environments_path == tmp_path / "from-env"
    assert from_env.build_path == tmp_path / "build-env"
    assert from_env.path_args == ""

    explicit = resolve_settings(tmp_path / "opt", tmp_path / "build-opt")
    assert explicit.environments_path == tmp_path / "opt"
    assert explicit.build_path == tmp_path / "build-opt"
    assert explicit.path_args == f" -p {tmp_path / 'opt'}"

    monkeypatch.delenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH")
    monkeypatch.delenv("AIRFLOW__ISOLATION__BUILD_PATH")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONFIG", str(tmp_path / "no-airflow.cfg"))
    monkeypatch.chdir(tmp_path)
    default = resolve_settings()
    assert default.environments_path == tmp_path / "environments"
    assert default.build_path == tmp_path / "cache" / "airflow-isolation"


def test_options_are_read_as_a_worker_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Variable, then ``airflow.cfg`` (``$VARS`` expanded), then the table's default; typed."""
    config = tmp_path / "airflow.cfg"
    config.write_text("[isolation]\nwarm_runtime = off\nkubernetes_namespace = $TEAM-tasks\n")
    monkeypatch.setenv("AIRFLOW_CONFIG", str(config))
    monkeypatch.setenv("TEAM", "data")
    for option in (WARM_RUNTIME, WARM_RUNTIME_IDLE_SECONDS, KUBERNETES_NAMESPACE):
        monkeypatch.delenv(option.variable, raising=False)
    assert read(WARM_RUNTIME) is False
    assert read(KUBERNETES_NAMESPACE) == "data-tasks"
    assert raw(WARM_RUNTIME_IDLE_SECONDS) is None and read(WARM_RUNTIME_IDLE_SECONDS) == 600.0
    monkeypatch.setenv(WARM_RUNTIME.variable, "True")
    monkeypatch.setenv(WARM_RUNTIME_IDLE_SECONDS.variable, "42")
    assert (read(WARM_RUNTIME), read(WARM_RUNTIME_IDLE_SECONDS)) == (True, 42.0)
    monkeypatch.setenv(WARM_RUNTIME_IDLE_SECONDS.variable, "soon")
    assert read(WARM_RUNTIME_IDLE_SECONDS) == 600.0
