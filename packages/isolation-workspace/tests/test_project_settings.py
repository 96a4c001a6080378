"""``isolation.toml``: found from a subfolder or through its variable, strictly parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_isolation.workspace.project_settings import (
    SETTINGS_FILE_VAR,
    SettingsError,
    find_settings_file,
    load_settings,
)


def test_project_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTINGS_FILE_VAR, raising=False)
    project = tmp_path / "project"
    (project / "dags").mkdir(parents=True)
    assert find_settings_file(project / "dags") is None
    (project / "isolation.toml").write_text('default_backend = "docker"\nenvironments_path = "envs"\n')
    found = find_settings_file(project / "dags")
    assert found == project / "isolation.toml", "found from a subfolder, walking up"
    settings = load_settings(found)
    assert settings.default_backend == "docker"
    assert settings.resolve(settings.environments_path) == project / "envs"
    (project / "isolation.toml").write_text('default_backend = "dokcer"\n')
    with pytest.raises(SettingsError, match="use one of venv, docker, kubernetes"):
        load_settings(found)
    (project / "isolation.toml").write_text('registyr = "x"\n')
    with pytest.raises(SettingsError, match="Allowed keys: default_backend, registry"):
        load_settings(found)
    monkeypatch.setenv(SETTINGS_FILE_VAR, str(tmp_path / "nope.toml"))
    with pytest.raises(SettingsError, match="does not exist"):
        find_settings_file()
