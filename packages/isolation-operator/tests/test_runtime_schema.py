"""An older runtime never ignores a feature silently: a task needing a facet its environment's
runtime lacks fails, before it runs when the build manifest says which schema the runtime accepts,
else from the result's own header, naming the environment, both versions and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from manifest_support import write_image_manifest, write_venv_manifest

from airflow_isolation.core import SCHEMA_VERSION, ErrorInfo, IsolationResult, SchemaVersion
from airflow_isolation.core.facets import FACETS, Facet
from airflow_isolation.operator.backends.docker.options import DockerOptions
from airflow_isolation.operator.exchange import runtime_schema
from airflow_isolation.operator.exchange.runtime_schema import OlderRuntimeError
from airflow_isolation.workspace import environment as env_contract

NEWER_THAN_1_0 = [facet for facet in FACETS if facet.since.minor > 0]


def _older(facet: Facet) -> SchemaVersion:
    return SchemaVersion(facet.since.major, facet.since.minor - 1)


@pytest.fixture
def builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(env_contract.BUILD_PATH_VAR, str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("text", "schema"),
    [("1.1", SchemaVersion(1, 1)), ("2.0", SchemaVersion(2, 0)), ("", None), ("one", None), ("1", None)],
)
def test_parse_schema(text: str, schema: Any) -> None:
    assert SchemaVersion.parse(text) == schema


def test_the_venv_build_manifest_says_which_schema(builds: Path) -> None:
    write_venv_manifest(builds, "plain", "1.1")
    assert runtime_schema.declared_schema("venv", "plain", None) == SchemaVersion(1, 1)


@pytest.mark.parametrize("backend", ["docker", "kubernetes"])
def test_the_image_manifest_says_which_schema(builds: Path, backend: str) -> None:
    write_image_manifest(builds, "plain", "1.2")
    assert runtime_schema.declared_schema(backend, "plain", None) == SchemaVersion(1, 2)
    assert runtime_schema.declared_schema(backend, "plain", DockerOptions(image="x:1")) is None, (
        "an explicit image has no manifest: the result's header decides"
    )


def test_a_build_older_than_the_field_or_no_build_says_nothing(builds: Path) -> None:
    assert runtime_schema.declared_schema("venv", "plain", None) is None, (
        "the backend reports a missing build"
    )
    write_venv_manifest(builds, "plain", "")
    assert runtime_schema.declared_schema("venv", "plain", None) is None


@pytest.mark.parametrize("facet", NEWER_THAN_1_0, ids=lambda facet: facet.name)
def test_a_runtime_without_a_needed_facet_is_refused_before_the_task_runs(builds: Path, facet: Facet) -> None:
    write_venv_manifest(builds, "plain", str(_older(facet)))
    with pytest.raises(OlderRuntimeError) as info:
        runtime_schema.refuse_before_run("plain", "venv", None, (facet.name,))
    message = str(info.value)
    assert "'plain'" in message and str(_older(facet)) in message and str(SCHEMA_VERSION) in message
    assert facet.name in message and "`isolationctl env build plain`" in message
    assert "Not running the task" in message


@pytest.mark.parametrize("facet", NEWER_THAN_1_0, ids=lambda facet: facet.name)
def test_a_runtime_with_the_facet_runs_it(builds: Path, facet: Facet) -> None:
    write_venv_manifest(builds, "plain", str(facet.since))
    assert runtime_schema.refuse_before_run("plain", "venv", None, (facet.name,)) == facet.since


def test_a_task_needing_no_newer_facet_runs_on_an_older_runtime(builds: Path) -> None:
    write_venv_manifest(builds, "plain", "1.0")
    assert runtime_schema.refuse_before_run("plain", "venv", None, ("xcom", "branch")) == SchemaVersion(1, 0)


def test_an_image_is_rebuilt_as_an_image_and_pushed(builds: Path) -> None:
    write_image_manifest(builds, "plain", "1.1")
    with pytest.raises(OlderRuntimeError) as info:
        runtime_schema.refuse_before_run("plain", "docker", None, ("downstream_skips",))
    assert "`isolationctl env build plain --target image`" in str(info.value)
    assert "`isolationctl env push plain --registry HOST:PORT`" in str(info.value)


def test_another_major_is_left_to_the_codec(builds: Path) -> None:
    write_venv_manifest(builds, "plain", "2.0")
    runtime_schema.refuse_before_run("plain", "venv", None, tuple(facet.name for facet in FACETS))


@pytest.mark.parametrize("facet", NEWER_THAN_1_0, ids=lambda facet: facet.name)
def test_without_a_manifest_the_results_header_fails_the_task(facet: Facet) -> None:
    """A short circuit whose skips an older runtime dropped must not let its downstream run."""
    result = IsolationResult(_older(facet), "success", return_value=False)
    with pytest.raises(OlderRuntimeError) as info:
        runtime_schema.refuse_result("plain", "venv", result, (facet.name,))
    message = str(info.value)
    assert str(_older(facet)) in message and str(SCHEMA_VERSION) in message and facet.name in message
    assert "the result was not applied" in message and "`isolationctl env build plain`" in message
    runtime_schema.refuse_result(
        "plain", "venv", msgspec.structs.replace(result, schema=facet.since), (facet.name,)
    )


def test_the_results_header_check_names_the_tasks_own_error() -> None:
    error = ErrorInfo("airflow.sdk.exceptions.AirflowRescheduleException", "later", "Traceback")
    result = IsolationResult(SchemaVersion(1, 1), "failed", error=error)
    with pytest.raises(
        OlderRuntimeError, match=r"The task itself reported .*AirflowRescheduleException: later"
    ):
        runtime_schema.refuse_result("plain", "kubernetes", result, ("sensors",))
