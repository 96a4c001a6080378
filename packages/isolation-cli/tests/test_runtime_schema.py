"""A build's recorded runtime schema: how it is asked, and how ``doctor`` and ``env list`` flag a lag.

A runtime accepting an older schema minor drops the fields it does not know, and with them the
features (facets) that brought them; a build recorded before manifests carried the schema cannot
be judged at all. Both are flagged with the facets at stake and the rebuild that fixes them.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import zipfile
from pathlib import Path

import msgspec
import pytest
from cli_test_support import run_cli, write_image_manifest

from airflow_isolation.cli.builds.runtime_schema import installed_schema, wheel_schema
from airflow_isolation.cli.checks.runtime_schema import schema_lag
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.build_context import DockerfileSpec, render_dockerfile
from airflow_isolation.core import SCHEMA_VERSION, SchemaVersion
from airflow_isolation.core.facets import FACETS
from airflow_isolation.workspace.environment import (
    BuildManifest,
    definition_digest,
    manifest_path,
)

NO_ENGINE = "unix:///nonexistent/docker.sock"
SINCE_1_2 = [facet.name for facet in FACETS if facet.since.minor >= 2]
UP_TO_1_1 = [facet.name for facet in FACETS if facet.since.minor <= 1]
CURRENT = str(SCHEMA_VERSION)


def test_a_current_or_newer_runtime_lags_in_nothing() -> None:
    assert schema_lag(CURRENT) == ""
    assert schema_lag(f"{SCHEMA_VERSION.major}.{SCHEMA_VERSION.minor + 1}") == ""


def test_an_older_minor_lacks_exactly_the_facets_added_since() -> None:
    lag = schema_lag("1.1")

    assert f"runtime schema 1.1 is older than this host's {SCHEMA_VERSION}" in lag
    assert all(f"{name} (since " in lag for name in SINCE_1_2)
    assert not any(f"{name} (since " in lag for name in UP_TO_1_1)


def test_an_unrecorded_schema_is_flagged_with_every_facet_it_may_lack() -> None:
    for recorded in ("", "garbage", "1"):
        lag = schema_lag(recorded)
        assert "not recorded" in lag
        assert "downstream_skips (since 1.2)" in lag
        assert "xcom (since" not in lag, "1.0 facets are in every runtime"


def test_another_major_refuses_the_host() -> None:
    assert "another major" in schema_lag(f"{SCHEMA_VERSION.major + 1}.0")


def test_parse_takes_major_dot_minor_only() -> None:
    assert SchemaVersion.parse("1.4") == SCHEMA_VERSION.__class__(1, 4)
    assert [SchemaVersion.parse(text) for text in ("", "1", "1.x", "a.b", "1.4.0")] == [None] * 5


def test_the_installed_schema_is_asked_of_the_interpreter() -> None:
    assert installed_schema(Path(sys.executable), "isolationctl env build tiny") == CURRENT


def test_a_core_wheel_answers_for_itself_even_over_an_installed_core(tmp_path: Path) -> None:
    """The image's label comes from the wheel the image installs, not from the host's own core."""
    wheel = tmp_path / "airflow_isolation_core-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "airflow_isolation/core/__init__.py",
            "class _V:\n    major, minor = 1, 1\nSCHEMA_VERSION = _V()\n",
        )

    assert wheel_schema(wheel, "isolationctl env build tiny --target image") == "1.1"


def test_a_runtime_that_cannot_answer_names_the_forced_rebuild(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'No module named airflow_isolation' >&2\nexit 1\n")
    broken.chmod(0o755)

    with pytest.raises(CliError) as raised:
        installed_schema(broken, "isolationctl env build tiny")

    assert "No module named airflow_isolation" in raised.value.message
    assert raised.value.hint == "run `isolationctl env build tiny --force`"


def test_the_image_is_labelled_with_its_runtime_schema() -> None:
    spec = DockerfileSpec("sha256:base", "tiny", "c" * 64, "3.11.2", (), "http://127.0.0.1:1", "1.1")
    label = next(line for line in render_dockerfile(spec).splitlines() if line.startswith("LABEL"))

    assert 'io.airflow-isolation.runtime-schema="1.1"' in label
    current = render_dockerfile(dataclasses.replace(spec, runtime_schema=CURRENT))
    assert render_dockerfile(spec).splitlines()[:-2] == current.splitlines()[:-2], "the label comes last"


def write_venv_manifest(env_paths: dict[str, Path], name: str, runtime_schema: str) -> None:
    """A venv build as ``env list`` sees it (a manifest and an interpreter file); nothing runs."""
    venv = env_paths["build"] / "venvs" / name / ("d" * 64)
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    manifest = BuildManifest(
        name=name,
        content_hash="d" * 64,
        definition_digest=definition_digest(env_paths["environments"], name),
        venv_path=str(venv),
        python_version="3.11.2",
        runtime_version="0.1.0",
        built_at="2024-01-01T00:00:00+00:00",
        runtime_schema=runtime_schema,
    )
    manifest_path(env_paths["build"], name).write_bytes(msgspec.json.encode(manifest))


@pytest.mark.parametrize("runtime_schema", ["1.1", ""])
def test_list_flags_a_lagging_venv_and_image_with_their_rebuilds(
    env_paths: dict[str, Path], runtime_schema: str
) -> None:
    assert run_cli("env", "create", "tiny").exit_code == 0
    write_venv_manifest(env_paths, "tiny", runtime_schema)
    write_image_manifest(env_paths, "tiny", [], runtime_schema)

    result = run_cli("env", "list")

    assert result.exit_code == 0, result.output
    warnings = result.stderr.replace("\n", " ")
    assert "tiny: venv runtime schema" in warnings
    assert "tiny: image runtime schema" in warnings
    assert "downstream_skips (since 1.2)" in warnings
    assert "rebuild with `isolationctl env build tiny`" in warnings
    assert "rebuild with `isolationctl env build tiny --target image`" in warnings
    entry = json.loads(run_cli("env", "list", "--json").stdout)[0]
    assert entry["runtime_schema"] == runtime_schema
    assert entry["image"]["runtime_schema"] == runtime_schema


def test_list_is_silent_about_current_builds(env_paths: dict[str, Path]) -> None:
    assert run_cli("env", "create", "tiny").exit_code == 0
    write_venv_manifest(env_paths, "tiny", CURRENT)
    write_image_manifest(env_paths, "tiny", [], CURRENT)

    result = run_cli("env", "list")

    assert result.exit_code == 0, result.output
    assert "runtime schema" not in result.stderr


def test_doctor_warns_of_an_image_whose_runtime_lags(
    env_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    assert run_cli("env", "create", "tiny").exit_code == 0
    write_image_manifest(env_paths, "tiny", [], "1.1")

    result = run_cli("doctor")

    assert result.exit_code == 0, result.output
    table = " ".join(result.stdout.split())
    assert "runtime schema 1.1 is older than this host's" in table
    assert "sensors (since 1.2)" in table
    assert "fix: rebuild with `isolationctl env build tiny --target image`" in table

    write_image_manifest(env_paths, "tiny", [], CURRENT)
    assert "runtime schema" not in run_cli("doctor").stdout
