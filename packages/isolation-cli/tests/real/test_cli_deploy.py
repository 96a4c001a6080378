"""Deploying: a no-change build decides "up to date" from the kept lock, without resolving;
``env build --all`` / ``env push --all`` try every environment and summarise."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cli_test_support import run_cli

from airflow_isolation.cli.resolve import lock as lock_module
from airflow_isolation.cli.venv import builder
from airflow_isolation.workspace.environment import read_manifest


def create(name: str, *extra: str) -> None:
    result = run_cli("env", "create", name, *extra)
    assert result.exit_code == 0, result.output


def counting_resolver(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the resolver runs of venv builds (the real one still runs)."""
    calls: list[int] = []
    real = builder.compile_lock

    def counted(*args: object, **kwargs: object) -> str:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builder, "compile_lock", counted)
    return calls


def test_a_no_change_build_reuses_the_lock_and_is_fast(
    env_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    create("tiny", "-r", "six==1.16.0")
    resolves = counting_resolver(monkeypatch)
    assert run_cli("env", "build", "tiny").exit_code == 0
    assert len(resolves) == 1

    began = time.monotonic()
    again = run_cli("env", "build", "tiny")
    elapsed = time.monotonic() - began

    assert again.exit_code == 0, again.output
    assert "tiny is up to date" in again.output
    assert "lock reused" in again.output
    assert len(resolves) == 1, "no resolver run when nothing changed"
    assert elapsed < 5, f"a no-change build took {elapsed:.1f}s (a loaded CI machine gets slack over 1 s)"


def test_upgrade_resolves_again_and_a_changed_definition_does_too(
    env_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    create("tiny", "-r", "six==1.16.0")
    resolves = counting_resolver(monkeypatch)
    assert run_cli("env", "build", "tiny").exit_code == 0

    upgraded = run_cli("env", "build", "tiny", "--upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert len(resolves) == 2
    assert "tiny is up to date" in upgraded.output, "the same lock came out: nothing rebuilt"

    definition = env_paths["environments"] / "tiny" / "environment.toml"
    definition.write_text(definition.read_text().replace("six==1.16.0", "six==1.15.0"))
    changed = run_cli("env", "build", "tiny")
    assert changed.exit_code == 0, changed.output
    assert len(resolves) == 3
    lock_text = (
        Path(read_manifest(env_paths["build"], "tiny").venv_path) / builder.LOCK_TEXT_FILE
    ).read_text()
    assert "six==1.15.0" in lock_text


def test_a_lock_kept_for_other_inputs_is_not_reused(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")
    assert run_cli("env", "build", "tiny").exit_code == 0
    record = env_paths["build"] / "venvs" / "tiny" / lock_module.LOCK_RECORD_FILE
    kept = json.loads(record.read_text())
    record.write_text(json.dumps({**kept, "inputs": "resolved from something else"}))

    result = run_cli("env", "build", "tiny")

    assert result.exit_code == 0, result.output
    assert "lock reused" not in result.output
    assert "resolving 1 requirement with uv" in result.output


def test_constraints_bound_the_lock_except_where_a_requirement_gives_a_version(
    env_paths: dict[str, Path], tmp_path: Path
) -> None:
    constraints = tmp_path / "c.txt"
    constraints.write_text("six==1.15.0\nattrs==23.1.0\n")
    create("free", "-r", "attrs", "--constraints", str(constraints))
    definition = env_paths["environments"] / "free" / "environment.toml"
    assert 'constraints = "constraints.txt"' in definition.read_text()

    result = run_cli("env", "build", "free")
    assert result.exit_code == 0, result.output
    lock_text = (
        Path(read_manifest(env_paths["build"], "free").venv_path) / builder.LOCK_TEXT_FILE
    ).read_text()
    assert "attrs==23.1.0" in lock_text.splitlines()

    (env_paths["environments"] / "free" / "environment.toml").write_text(
        'requirements = ["attrs==23.2.0"]\nconstraints = "constraints.txt"\n'
    )
    result = run_cli("env", "build", "free")
    assert result.exit_code == 0, "a requirement's version wins over the constraint"
    lock_text = (
        Path(read_manifest(env_paths["build"], "free").venv_path) / builder.LOCK_TEXT_FILE
    ).read_text()
    assert "attrs==23.2.0" in lock_text.splitlines()


def test_build_all_builds_every_environment_and_reports_failures(env_paths: dict[str, Path]) -> None:
    create("alpha", "-r", "six==1.16.0")
    create("broken", "-r", "this-package-does-not-exist-anywhere==1.0")
    create("gamma", "-r", "six==1.16.0")

    result = run_cli("env", "build", "--all")

    assert result.exit_code == 1, result.output
    assert read_manifest(env_paths["build"], "alpha") is not None
    assert read_manifest(env_paths["build"], "gamma") is not None, "a failure does not stop the others"
    table = result.stdout[result.stdout.index("Built 3 environment(s)") :]
    for name, outcome in (("alpha", "built"), ("broken", "failed"), ("gamma", "built")):
        line = next(line for line in table.splitlines() if f" {name} " in line)
        assert "venv" in line and outcome in line, line
    assert "1 of 3 failed: broken" in result.stderr

    (env_paths["environments"] / "broken" / "environment.toml").write_text('requirements = ["six"]\n')
    again = run_cli("env", "build", "--all")
    assert again.exit_code == 0, again.output
    assert again.stdout.count("up-to-date") == 2
