"""A venv built from an older runtime (``$ISOLATION_RUNTIME_SOURCE`` at an earlier checkout, the
``runtime_1_1`` fixture) records the schema that runtime accepts, not this CLI's, and ``env list``
and ``doctor`` flag it."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from cli_test_support import run_cli

from airflow_isolation.core import SCHEMA_VERSION
from airflow_isolation.core.facets import FACETS
from airflow_isolation.workspace.environment import manifest_path, read_manifest


def test_a_venv_of_an_older_runtime_records_its_schema_and_is_flagged_until_rebuilt(
    env_paths: dict[str, Path], runtime_1_1: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(runtime_1_1))
    assert run_cli("env", "create", "tiny").exit_code == 0
    built = run_cli("env", "build", "tiny")
    assert built.exit_code == 0, built.output
    manifest = read_manifest(env_paths["build"], "tiny")
    assert manifest is not None
    assert manifest.runtime_schema == "1.1"

    listed = run_cli("env", "list")
    warnings = " ".join(listed.stderr.split())
    assert f"tiny: venv runtime schema 1.1 is older than this host's {SCHEMA_VERSION}" in warnings
    for facet in FACETS:
        assert (f"{facet.name} (since " in warnings) == (facet.since.minor > 1), facet.name
    assert "rebuild with `isolationctl env build tiny`" in warnings

    doctor = run_cli("doctor")
    table = " ".join(doctor.stdout.split())
    assert "(schema 1.1)" in table
    assert "it lacks the facets downstream_skips (since 1.2)" in table
    assert "fix: rebuild with `isolationctl env build tiny`" in table

    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(env_paths["runtime"]))
    rebuilt = run_cli("env", "build", "tiny")
    assert rebuilt.exit_code == 0, rebuilt.output
    manifest = read_manifest(env_paths["build"], "tiny")
    assert manifest is not None
    assert manifest.runtime_schema == str(SCHEMA_VERSION)
    assert "runtime schema" not in run_cli("env", "list").stderr


def test_an_up_to_date_venv_recorded_before_the_schema_gets_it_on_the_next_build(
    env_paths: dict[str, Path],
) -> None:
    assert run_cli("env", "create", "tiny").exit_code == 0
    assert run_cli("env", "build", "tiny").exit_code == 0
    manifest = read_manifest(env_paths["build"], "tiny")
    assert manifest is not None
    path = manifest_path(env_paths["build"], "tiny")
    path.write_bytes(msgspec.json.encode(msgspec.structs.replace(manifest, runtime_schema="")))
    assert "runtime schema not recorded" in run_cli("env", "list").stderr

    again = run_cli("env", "build", "tiny")

    assert again.exit_code == 0, again.output
    assert "is up to date" in again.stdout
    refreshed = read_manifest(env_paths["build"], "tiny")
    assert refreshed is not None
    assert refreshed.runtime_schema == str(SCHEMA_VERSION)
    assert refreshed.content_hash == manifest.content_hash
    assert "runtime schema" not in run_cli("env", "list").stderr
