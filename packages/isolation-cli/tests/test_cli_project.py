"""``init``, ``isolation.toml`` precedence, and the image side of ``env list``/``doctor``/``push``,
all without a Docker engine (it is pointed at a socket that does not exist)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_test_support import run_cli, write_image_manifest

from airflow_isolation.cli.image.plan import resolve_registry
from airflow_isolation.cli.settings import resolve_settings

NO_ENGINE = "unix:///nonexistent/docker.sock"


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No environment/build/settings variables: only isolation.toml and defaults decide."""
    for var in (
        "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH",
        "AIRFLOW__ISOLATION__BUILD_PATH",
        "AIRFLOW__ISOLATION__SETTINGS_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def test_init_scaffolds_a_project_and_never_overwrites(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = clean_env / "proj"

    result = run_cli("init", str(project), "--registry", "localhost:5000")

    assert result.exit_code == 0, result.output
    files = {
        "isolation.toml",
        "environments/example/environment.toml",
        "environments/example/packages.txt",
        "dags/isolated_example.py",
    }
    assert {str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()} == files
    for name in files:
        assert name in result.stdout
    assert "isolationctl env build example" in result.stdout
    assert "AIRFLOW__ISOLATION__SETTINGS_FILE=" in result.stdout
    settings_text = (project / "isolation.toml").read_text()
    assert 'default_backend = "venv"' in settings_text
    assert 'registry = "localhost:5000"' in settings_text
    assert 'environments_path = "environments"' in settings_text
    compile((project / "dags" / "isolated_example.py").read_text(), "isolated_example.py", "exec")

    # From inside the project, the CLI finds isolation.toml and its environments.
    monkeypatch.chdir(project / "dags")
    listed = json.loads(run_cli("env", "list", "--json").stdout)
    assert [entry["name"] for entry in listed] == ["example"]
    assert listed[0]["requirements"] == ["humanize>=4"]
    assert listed[0]["image"]["state"] == "not built"

    before = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}
    again = run_cli("init", str(project))
    assert again.exit_code == 1
    assert "not overwriting existing files" in again.stderr
    assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == before


def test_init_refuses_when_any_file_is_in_the_way_and_writes_nothing(clean_env: Path) -> None:
    project = clean_env / "proj"
    (project / "dags").mkdir(parents=True)
    (project / "dags" / "isolated_example.py").write_text("mine\n")

    result = run_cli("init", str(project))

    assert result.exit_code == 1
    assert "isolated_example.py" in result.stderr
    assert not (project / "isolation.toml").exists()
    assert not (project / "environments").exists()
    assert (project / "dags" / "isolated_example.py").read_text() == "mine\n"
    assert run_cli("init", str(clean_env / "other"), "--backend", "lambda").exit_code == 1


def test_init_dag_parses_with_the_host_airflow(clean_env: Path) -> None:
    pytest.importorskip("airflow_isolation.operator")
    project = clean_env / "proj"
    assert run_cli("init", str(project)).exit_code == 0
    code = (
        "import runpy, sys\n"
        "namespace = runpy.run_path(sys.argv[1])\n"
        "dags = [v for v in namespace.values() if type(v).__name__ == 'DAG']\n"
        "print(sorted(dags[0].task_dict))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH"}
    env["AIRFLOW__ISOLATION__SETTINGS_FILE"] = str(project / "isolation.toml")  # finds environments/
    proc = subprocess.run(
        [sys.executable, "-c", code, str(project / "dags" / "isolated_example.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "['describe_target', 'human_sizes']"


def test_settings_file_sits_between_variables_and_defaults(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = clean_env / "proj"
    (project / "sub").mkdir(parents=True)
    (project / "isolation.toml").write_text(
        'environments_path = "envs"\nbuild_path = "../builds"\nregistry = "reg.example:5000"\n'
    )
    monkeypatch.chdir(project / "sub")

    from_file = resolve_settings()
    assert from_file.environments_path == project / "envs"
    assert from_file.build_path == clean_env / "builds"
    assert from_file.settings_file == project / "isolation.toml"
    assert "isolation.toml" in from_file.describe_environments_source()
    assert resolve_registry(None, from_file) == "reg.example:5000"
    assert resolve_registry("other:1", from_file) == "other:1"

    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(clean_env / "from-var"))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(clean_env / "build-var"))
    from_var = resolve_settings()
    assert from_var.environments_path == clean_env / "from-var"
    assert from_var.build_path == clean_env / "build-var"
    assert resolve_settings(clean_env / "opt").environments_path == clean_env / "opt"

    (project / "isolation.toml").write_text('registy = "typo"\n')
    result = run_cli("env", "list")
    assert result.exit_code == 1
    assert "registy" in result.stderr


def test_list_shows_the_image_state(env_paths: dict[str, Path]) -> None:
    assert run_cli("env", "create", "tiny", "-r", "six==1.16.0").exit_code == 0
    write_image_manifest(env_paths, "tiny", ["127.0.0.1:5000/airflow-isolation/tiny:" + "a" * 24])

    entry = json.loads(run_cli("env", "list", "--json").stdout)[0]
    assert entry["state"] == "not built"
    image = entry["image"]
    assert image["state"] == "built"
    assert image["tag"] == "a" * 24
    assert image["image_id"] == "sha256:" + "b" * 64
    assert image["pushed"] == ["127.0.0.1:5000/airflow-isolation/tiny:" + "a" * 24]
    assert image["platform"] == "linux/amd64"
    table = run_cli("env", "list").stdout
    assert "built aaaaaaaaaaaa" in table
    assert "pushed: 127.0.0.1:5000" in table

    definition = env_paths["environments"] / "tiny" / "environment.toml"
    definition.write_text(definition.read_text() + "\n")
    assert json.loads(run_cli("env", "list", "--json").stdout)[0]["image"]["state"] == "outdated"


def test_doctor_warns_without_docker_but_fails_an_outdated_image(
    env_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    assert run_cli("env", "create", "tiny").exit_code == 0
    write_image_manifest(env_paths, "tiny", [])

    result = run_cli("doctor")

    assert "docker engine" in result.stdout
    assert "cannot reach the Docker engine" in result.stdout
    assert "presence not checked" in result.stdout
    assert "only as an image" in result.stdout
    assert result.exit_code == 0, result.output

    definition = env_paths["environments"] / "tiny" / "environment.toml"
    definition.write_text(definition.read_text() + "\n")
    result = run_cli("doctor")
    assert result.exit_code == 1
    assert "tiny: image" in result.stdout
    assert "fix: run `isolationctl env build tiny --target image`" in result.stdout


def test_image_commands_name_the_missing_engine(
    env_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    assert run_cli("env", "create", "tiny").exit_code == 0

    build = run_cli("env", "build", "tiny", "--target", "image")
    assert build.exit_code == 1
    assert f"cannot reach the Docker engine at {NO_ENGINE}" in build.stderr
    assert "fix: start the Docker engine" in build.stderr
    assert "Traceback" not in build.output

    push = run_cli("env", "push", "tiny", "--registry", "127.0.0.1:5000")
    assert push.exit_code == 1
    assert "cannot reach the Docker engine" in push.stderr

    no_registry = run_cli("env", "push", "tiny")
    assert no_registry.exit_code == 2
    assert "no registry to push to" in no_registry.stderr
    assert "--registry HOST:PORT" in no_registry.stderr
