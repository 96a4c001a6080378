"""An environment built with an older runtime never ignores a feature silently.

The environment's runtime comes from the newest commit whose core spoke schema 1.1 (as a user's
environment built with the previous release does), installed by ``isolationctl env build`` from that
checkout (``ISOLATION_RUNTIME_SOURCE``). Under today's host, a wrapped ``ShortCircuitOperator`` with
a false condition needs ``downstream_skips`` (schema 1.2), which that runtime would drop, and its
downstream would run; so would a wrapped sensor (``sensors``, 1.2), a callable importing a module
next to the DAG (``shipped_modules``, 1.3) and a task with outlets (``assets``, 1.4) lose what
their facet carries. Real DAG runs (``airflow dags test``) check that each fails instead, naming
the environment, both schema versions, the facet and the fix, and that the downstream does not run:

- before it runs, when the build manifest says which schema the runtime accepts;
- after it ran, from the result's header, when the manifest is older than that field;

and that a plain task, which needs no newer facet, runs on that runtime either way.
"""

from __future__ import annotations

import subprocess
import tarfile
import textwrap
from pathlib import Path

import msgspec
import pytest
from harness import BUILD_PATH, REPO, DagRunReport, build_environment, host_env, missing, run_dag

from airflow_isolation.core import SCHEMA_VERSION
from airflow_isolation.workspace import environment as env_contract

ENVIRONMENT = "older_af31"
OLDER_SCHEMA = "1.1"
SCHEMA_FILE = "packages/isolation-core/src/airflow_isolation/core/schema.py"
DAG_ID = "older_runtime"

DAG_FILE = f"""
import datetime as dt

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

from airflow_isolation.operator import IsolatedOperator


def is_false():
    return False


def answer():
    return 42


def ready():
    return True


def uses_a_helper():
    import older_helpers

    return older_helpers.VALUE


with DAG("{DAG_ID}", schedule=None, start_date=dt.datetime(2024, 1, 1), catchup=False):
    gate = IsolatedOperator(
        task_id="gate",
        environment="{ENVIRONMENT}",
        operator="airflow.providers.standard.operators.python.ShortCircuitOperator",
        python_callable=is_false,
    )
    gate >> EmptyOperator(task_id="after_gate")
    IsolatedOperator(task_id="plain", environment="{ENVIRONMENT}", python_callable=answer)
    IsolatedOperator(
        task_id="waits",
        environment="{ENVIRONMENT}",
        operator="airflow.providers.standard.sensors.python.PythonSensor",
        python_callable=ready,
        mode="reschedule",
        poke_interval=5,
    )
    IsolatedOperator(task_id="helped", environment="{ENVIRONMENT}", python_callable=uses_a_helper)
    IsolatedOperator(
        task_id="emits", environment="{ENVIRONMENT}", python_callable=answer, outlets=[Asset("file:///older")]
    )
"""
HELPER_MODULE = "VALUE = 7\n"
NEWER_FACET_TASKS = {
    "gate": "downstream_skips",
    "waits": "sensors",
    "helped": "shipped_modules",
    "emits": "assets",
}
"""Each task that needs a facet newer than schema 1.1, and that facet."""


def _git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else ""


def older_runtime_commit() -> str:
    """The newest commit whose ``SCHEMA_VERSION`` was 1.1: the one before the move to 1.2."""
    spelt = "SCHEMA_VERSION = SchemaVersion(1, 1)"
    for commit in _git(
        "log", "--format=%H", "-S", "SchemaVersion(1, 1)", "--", "packages/isolation-core"
    ).split():
        for candidate in (commit, f"{commit}^"):
            if spelt in _git("show", f"{candidate}:{SCHEMA_FILE}"):
                return _git("rev-parse", candidate).strip()
    missing("the git history back to schema 1.1 (a full clone)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def older_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """That commit's core and runtime packages, as a checkout ``ISOLATION_RUNTIME_SOURCE`` accepts."""
    commit = older_runtime_commit()
    root = tmp_path_factory.mktemp("older-checkout")
    archive = root / "packages.tar"
    proc = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), commit,
         "packages/isolation-core", "packages/isolation-runtime"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    archive.unlink()
    assert "SchemaVersion(1, 1)" in (root / SCHEMA_FILE).read_text()
    return root


@pytest.fixture(scope="module")
def older_environment(older_checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The definitions folder holding ``older_af31`` (af31's requirements), built with the older
    runtime."""
    definitions = tmp_path_factory.mktemp("older-environments")
    (definitions / ENVIRONMENT).mkdir()
    af31 = REPO / "integration-tests" / "environments" / "af31" / env_contract.DEFINITION_FILE
    (definitions / ENVIRONMENT / env_contract.DEFINITION_FILE).write_text(af31.read_text())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ISOLATION_RUNTIME_SOURCE", str(older_checkout))
        build_environment(ENVIRONMENT, definitions)
    return definitions


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("older-runtime-dags")
    (folder / f"{DAG_ID}.py").write_text(textwrap.dedent(DAG_FILE))
    (folder / "older_helpers.py").write_text(HELPER_MODULE)
    return folder


def _manifest_says(runtime_schema: str) -> None:
    """Set what the build manifest says of its runtime's schema. When the CLI filled it, it must
    have found the older runtime's schema."""
    path = env_contract.manifest_path(BUILD_PATH, ENVIRONMENT)
    manifest = msgspec.json.decode(path.read_bytes(), type=env_contract.BuildManifest)
    assert manifest.runtime_schema in ("", OLDER_SCHEMA), "the CLI recorded another schema than the runtime's"
    path.write_bytes(msgspec.json.encode(msgspec.structs.replace(manifest, runtime_schema=runtime_schema)))


def _run(definitions: Path, dag_folder: Path) -> DagRunReport:
    env = host_env(definitions, {"AIRFLOW__CORE__DAGS_FOLDER": str(dag_folder)})
    return run_dag(DAG_ID, env, dag_file=dag_folder / f"{DAG_ID}.py")


def _assert_gate_refused(report: DagRunReport) -> None:
    for task_id in NEWER_FACET_TASKS:
        assert report.state(task_id) == "failed", f"{task_id}: {report.output[-8000:]}"
    assert report.state("after_gate") in ("upstream_failed", "<not run>"), "the downstream must not run"
    assert report.state("plain") == "success", report.output[-8000:]
    out = report.output
    assert f"environment '{ENVIRONMENT}'" in out
    assert f"schema {OLDER_SCHEMA}" in out and f"this host's {SCHEMA_VERSION}" in out
    for facet in NEWER_FACET_TASKS.values():
        assert f"{facet} (schema " in out, f"no refusal names {facet}"
    assert f"`isolationctl env build {ENVIRONMENT}`" in out


def test_a_short_circuit_fails_before_it_runs_when_the_manifest_says(
    airflow_db: None, older_environment: Path, dag_folder: Path
) -> None:
    _manifest_says(OLDER_SCHEMA)
    report = _run(older_environment, dag_folder)
    _assert_gate_refused(report)
    assert "Not running the task" in report.output


def test_a_short_circuit_fails_from_the_results_header_when_the_manifest_is_older(
    airflow_db: None, older_environment: Path, dag_folder: Path
) -> None:
    _manifest_says("")
    report = _run(older_environment, dag_folder)
    _assert_gate_refused(report)
    assert "the result was not applied" in report.output
