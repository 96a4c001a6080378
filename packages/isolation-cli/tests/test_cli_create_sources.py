"""``env create --airflow / --constraints / --from``: definitions from what a user already has."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from cli_test_support import run_cli

from airflow_isolation.cli.definitions import airflow_pins
from airflow_isolation.workspace.environment import load_definition


def definition(env_paths: dict[str, Path], name: str) -> dict[str, object]:
    return dict(msgspec.toml.decode((env_paths["environments"] / name / "environment.toml").read_bytes()))


def test_airflow_adds_airflow_the_standard_provider_and_its_constraints(
    env_paths: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = tmp_path / "constraints-2.10.5" / "constraints-3.12.txt"
    published.parent.mkdir()
    published.write_text("pandas==2.1.4\nnumpy==1.26.4\n")
    monkeypatch.setattr(
        airflow_pins,
        "AIRFLOW_CONSTRAINTS_URL",
        f"file://{tmp_path}/constraints-{{version}}/constraints-{{python}}.txt",
    )

    result = run_cli("env", "create", "af", "--airflow", "2.10.5", "--python", "3.12", "-r", "pandas<2")

    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert definition(env_paths, "af")["requirements"] == [
        "apache-airflow==2.10.5",
        "apache-airflow-providers-standard",
        "pandas<2",
    ]
    assert load_definition(env_paths["environments"], "af").constraints == "constraints.txt"
    assert (env_paths["environments"] / "af" / "constraints.txt").read_text() == published.read_text()


def test_unreachable_constraints_are_said_once_and_do_not_fail_the_create(
    env_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        airflow_pins, "AIRFLOW_CONSTRAINTS_URL", "http://127.0.0.1:1/constraints-{version}-{python}"
    )

    result = run_cli("env", "create", "af", "--airflow", "2.10.5")

    assert result.exit_code == 0, result.output
    assert result.stderr.count("warning:") == 1
    assert "could not be fetched" in result.stderr and "--constraints FILE" in result.stderr
    assert "constraints" not in definition(env_paths, "af")
    assert not (env_paths["environments"] / "af" / "constraints.txt").exists()


def test_airflow_before_2_9_gets_no_standard_provider(
    env_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(airflow_pins, "AIRFLOW_CONSTRAINTS_URL", "http://127.0.0.1:1/{version}-{python}")

    result = run_cli("env", "create", "old", "--airflow", "2.8.4")

    assert result.exit_code == 0, result.output
    assert definition(env_paths, "old")["requirements"] == ["apache-airflow==2.8.4"]
    assert "no compatible apache-airflow-providers-standard" in result.stderr
    assert run_cli("env", "create", "bad", "--airflow", "two").exit_code == 2


def test_explicit_constraints_are_copied_and_must_exist(env_paths: dict[str, Path], tmp_path: Path) -> None:
    constraints = tmp_path / "mine.txt"
    constraints.write_text("six==1.16.0\n")

    assert run_cli("env", "create", "c", "-r", "six", "--constraints", str(constraints)).exit_code == 0
    assert (env_paths["environments"] / "c" / "constraints.txt").read_text() == "six==1.16.0\n"

    missing = run_cli("env", "create", "d", "-r", "six", "--constraints", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 1
    assert "nope.txt" in missing.stderr
    assert not (env_paths["environments"] / "d").exists()


def test_from_requirements_txt_follows_includes_and_refuses_pip_options(
    env_paths: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "base.txt").write_text("attrs>=23  # pinned loosely\n")
    (tmp_path / "requirements.txt").write_text(
        "# tools\n-r base.txt\nsix==1.16.0\n\nrequests[socks] ; python_version >= '3.8'\n"
    )

    result = run_cli(
        "env", "create", "fromreq", "--from", str(tmp_path / "requirements.txt"), "-r", "msgspec"
    )

    assert result.exit_code == 0, result.output
    assert definition(env_paths, "fromreq")["requirements"] == [
        "attrs>=23",
        "six==1.16.0",
        "requests[socks] ; python_version >= '3.8'",
        "msgspec",
    ]
    (tmp_path / "bad.txt").write_text("--index-url https://example.invalid/simple\nsix\n")
    refused = run_cli("env", "create", "bad", "--from", str(tmp_path / "bad.txt"))
    assert refused.exit_code == 1
    assert "bad.txt:1" in refused.stderr and "pip option" in refused.stderr


def test_from_pyproject_takes_dependencies_and_requires_python(
    env_paths: dict[str, Path], tmp_path: Path
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "mine"\nversion = "1"\nrequires-python = ">=3.10,<3.13"\n'
        'dependencies = ["six==1.16.0", "attrs"]\n'
    )

    assert run_cli("env", "create", "proj", "--from", str(pyproject)).exit_code == 0
    assert definition(env_paths, "proj")["python"] == "3.10"
    assert definition(env_paths, "proj")["requirements"] == ["six==1.16.0", "attrs"]
    assert run_cli("env", "create", "proj12", "--from", str(pyproject), "--python", "3.12").exit_code == 0
    assert definition(env_paths, "proj12")["python"] == "3.12"
