"""``env list`` states and ``doctor`` verdicts of an environment built into a venv."""

from __future__ import annotations

import json
from pathlib import Path

from cli_test_support import run_cli

from airflow_isolation.core import SCHEMA_VERSION


def listed(name: str) -> dict[str, object]:
    result = run_cli("env", "list", "--json")
    assert result.exit_code == 0, result.output
    return {entry["name"]: entry for entry in json.loads(result.stdout)}[name]


def test_list_follows_not_built_built_outdated(env_paths: dict[str, Path]) -> None:
    assert run_cli("env", "create", "tiny", "-r", "six==1.16.0").exit_code == 0

    assert listed("tiny")["state"] == "not built"
    table = run_cli("env", "list").stdout
    assert "tiny" in table
    assert "not built" in table
    assert "3.11" in table

    assert run_cli("env", "build", "tiny").exit_code == 0
    entry = listed("tiny")
    assert entry["state"] == "built"
    assert entry["label"] == f"built {entry['content_hash'][:12]}"
    assert entry["requirements"] == ["six==1.16.0"]
    table = run_cli("env", "list").stdout
    assert f"built {entry['content_hash'][:12]}" in table
    assert str(entry["built_at"]) in table

    definition = env_paths["environments"] / "tiny" / "environment.toml"
    definition.write_text(definition.read_text() + "\n")
    assert listed("tiny")["state"] == "outdated"
    assert "outdated (definition changed)" in run_cli("env", "list").stdout


def test_doctor_passes_on_a_built_environment(env_paths: dict[str, Path]) -> None:
    assert run_cli("env", "create", "tiny", "-r", "six==1.16.0").exit_code == 0
    assert run_cli("env", "build", "tiny").exit_code == 0

    result = run_cli("doctor")

    assert result.exit_code == 0, result.output
    assert "All checks passed" in result.stdout
    assert "✗" not in result.stdout
    assert "uv " in result.stdout
    assert "tiny: venv" in result.stdout
    assert "runtime 0.1.0" in result.stdout
    assert f"accepts this host's schema {SCHEMA_VERSION}" in result.stdout
    assert "apache-airflow" in result.stdout
    assert "airflow-isolation-operator" in result.stdout
