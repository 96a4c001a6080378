"""``isolationctl env create``: the file it writes and the mistakes it refuses."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from cli_test_support import run_cli

from airflow_isolation.workspace.environment import load_definition


def test_create_writes_a_documented_definition(env_paths: dict[str, Path]) -> None:
    result = run_cli("env", "create", "tiny", "-r", "six==1.16.0", "--description", 'a "tiny" [env]')

    assert result.exit_code == 0, result.output
    path = env_paths["environments"] / "tiny" / "environment.toml"
    assert str(path) in result.output
    assert "isolationctl env build tiny --target venv" in result.output
    text = path.read_text()
    assert text.startswith("#")
    for key in ("python", "requirements", "packages", "base_image", "description"):
        assert f"#   {key}" in text
    data = msgspec.toml.decode(text)
    assert data == {
        "python": "3.11",
        "requirements": ["six==1.16.0"],
        "packages": [],
        "description": 'a "tiny" [env]',
    }
    assert load_definition(env_paths["environments"], "tiny").requirements == ["six==1.16.0"]


def test_create_with_all_options(env_paths: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    result = run_cli(
        "env", "create", "full", "--python", "3.12.1", "-r", "six", "-r", "attrs>=23", "--package", "libpq5",
        "--base-image", "python:3.12-slim", "-p", str(other),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"-p {other}" in result.output
    definition = load_definition(other, "full")
    assert definition.python == "3.12.1"
    assert definition.requirements == ["six", "attrs>=23"]
    assert definition.packages == ["libpq5"]
    assert definition.base_image == "python:3.12-slim"
    assert not (env_paths["environments"] / "full").exists()


def test_create_refuses_an_existing_environment(env_paths: dict[str, Path]) -> None:
    assert run_cli("env", "create", "tiny").exit_code == 0
    path = env_paths["environments"] / "tiny" / "environment.toml"
    before = path.read_bytes()

    result = run_cli("env", "create", "tiny", "-r", "six")

    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.output
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", ["Bad", "has space", "_under", "x" * 64, "../escape"])
def test_create_refuses_an_invalid_name(env_paths: dict[str, Path], name: str) -> None:
    result = run_cli("env", "create", name)

    assert result.exit_code == 1
    assert "is invalid" in result.stderr
    assert "Traceback" not in result.output
    assert not env_paths["environments"].exists()


def test_create_refuses_a_malformed_python_version(env_paths: dict[str, Path]) -> None:
    result = run_cli("env", "create", "tiny", "--python", "three")

    assert result.exit_code == 1
    assert "'three' is not a version like '3.11'" in result.stderr
    assert not env_paths["environments"].exists()


def test_default_environments_path_is_the_operators_airflow_home_environments(
    env_paths: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONFIG", str(tmp_path / "no-airflow.cfg"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")

    assert run_cli("env", "create", "tiny").exit_code == 0
    assert (tmp_path / "environments" / "tiny" / "environment.toml").is_file()
    assert not (tmp_path / "elsewhere" / "environments").exists(), "not the working directory"
