"""``env list`` states and ``doctor`` verdicts across an environment's life cycle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_test_support import run_cli

from airflow_isolation.cli.checks.health import FAIL, OK, WARN, check_sandbox, schema_verdict
from airflow_isolation.core import SCHEMA_VERSION


def listed(name: str) -> dict[str, object]:
    result = run_cli("env", "list", "--json")
    assert result.exit_code == 0, result.output
    return {entry["name"]: entry for entry in json.loads(result.stdout)}[name]


def test_list_reports_invalid_definitions_without_failing(env_paths: dict[str, Path]) -> None:
    folder = env_paths["environments"] / "typo"
    folder.mkdir(parents=True)
    (folder / "environment.toml").write_text("pyhton = 3\n")

    entry = listed("typo")
    assert entry["state"] == "invalid"
    assert "pyhton" in str(entry["problem"])
    result = run_cli("env", "list")
    assert result.exit_code == 0
    assert "invalid definition" in result.stdout
    assert "pyhton" in result.stderr


def test_list_of_an_empty_folder_says_how_to_start(env_paths: dict[str, Path]) -> None:
    result = run_cli("env", "list")

    assert result.exit_code == 0
    assert "isolationctl env create NAME" in result.stdout
    assert json.loads(run_cli("env", "list", "--json").stdout) == []


def test_doctor_fails_with_a_fix_for_an_unbuilt_environment(env_paths: dict[str, Path]) -> None:
    assert run_cli("env", "create", "tiny").exit_code == 0

    result = run_cli("doctor")

    assert result.exit_code == 1
    assert "✗" in result.stdout
    assert "fix: run `isolationctl env build tiny --target venv`" in result.stdout
    assert "check(s) failed" in result.stderr


def test_doctor_fails_when_the_environments_folder_is_missing(env_paths: dict[str, Path]) -> None:
    result = run_cli("doctor")

    assert result.exit_code == 1
    assert "does not exist" in result.stdout
    assert "isolationctl env create NAME" in result.stdout


def test_help_texts() -> None:
    for args in (["--help"], ["env", "--help"], ["env", "build", "--help"], ["doctor", "--help"]):
        result = run_cli(*args)
        assert result.exit_code == 0, args
        assert "Usage" in result.stdout
    assert "--python-path" in run_cli("env", "build", "--help").stdout
    assert run_cli("--version").stdout.strip() == "isolationctl 0.1.0"


def test_cli_never_imports_airflow_operator_or_runtime() -> None:
    code = (
        "import sys, airflow_isolation.cli.main, airflow_isolation.cli.checks.health\n"
        "bad = [m for m in sys.modules if m == 'airflow' or m.startswith("
        "('airflow.', 'airflow_isolation.operator', 'airflow_isolation.runtime'))]\n"
        "print(bad)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_doctor_names_the_rebuild_when_an_environment_speaks_another_schema() -> None:
    def probe(major: int, minor: int) -> str:
        return json.dumps(["0.0.9", "0.0.9", major, minor]) + "\n"

    rebuild = "isolationctl env build tiny"
    other_major = schema_verdict("tiny: venv", "built", probe(SCHEMA_VERSION.major + 1, 0), rebuild)
    older_minor = schema_verdict("tiny: venv", "built", probe(SCHEMA_VERSION.major, -1), rebuild)
    same = schema_verdict("tiny: venv", "built", probe(SCHEMA_VERSION.major, SCHEMA_VERSION.minor), rebuild)

    assert other_major.status == FAIL
    assert "refuses requests from this host" in other_major.detail
    assert f"rebuild with `{rebuild}`" in other_major.fix
    assert (older_minor.status, older_minor.fix) == (WARN, f"rebuild with `{rebuild}`")
    assert same.status == OK
    assert "runtime 0.0.9, core 0.0.9" in same.detail


def test_doctor_warns_when_the_venv_sandbox_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ISOLATION__VENV_SANDBOX", "off")
    check = check_sandbox()
    assert check.status == WARN
    assert "can read what the worker's user can" in check.detail
    assert "venv_sandbox = auto" in check.fix


def test_doctor_fails_on_a_venv_sandbox_mode_it_does_not_know(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ISOLATION__VENV_SANDBOX", "sometimes")
    check = check_sandbox()
    assert check.status == FAIL
    assert "'sometimes' is not one of auto, required, off" in check.detail
