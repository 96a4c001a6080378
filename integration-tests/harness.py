"""Helpers the integration tests share: real target environments and real DAG runs.

Nothing here fakes a component: environments are built with ``isolationctl`` exactly as a user
builds them, and DAGs run through ``airflow dags test`` on the host's real Airflow.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Set, Tuple

import pytest
from matrix import BASE_IMAGES as MATRIX_BASE_IMAGES
from real_components import REGISTRY, missing, require_registry  # noqa: F401 - re-exported
from real_components import docker_engine as docker_client
from real_components import require_image as require_base_image  # noqa: F401 - re-exported

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
TEST_ENVIRONMENTS = TESTS / "environments"
TEST_DAGS = TESTS / "dags"
BUILD_PATH = Path(os.environ.get("AIRFLOW__ISOLATION__BUILD_PATH") or REPO / ".isolation-build")
BUILT_THIS_SESSION: Set[Tuple[str, ...]] = set()
"""The builds ``isolationctl`` made or found up to date in this session, by target, definition folder,
name (and base image): modules asking for one again reuse it while it is still in place, instead of
each paying for an ``isolationctl env build`` of its own."""


def isolationctl() -> str:
    found = shutil.which("isolationctl", path=str(Path(sys.executable).parent))
    if found is None:
        missing("isolationctl (install packages/isolation-cli)")
    return found  # type: ignore[return-value]


def build_environment(name: str, environments: Path = TEST_ENVIRONMENTS) -> None:
    key = ("venv", str(environments), name)
    if key in BUILT_THIS_SESSION and _venv_in_place(name, environments):
        return
    if shutil.which("uv") is None and not (Path(sys.executable).parent / "uv").exists():
        missing("uv")
    command = [isolationctl(), "env", "build", name, "--target", "venv",
               "--path", str(environments), "--build-path", str(BUILD_PATH)]  # fmt: skip
    proc = subprocess.run(check=False, args=command, capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        pytest.fail(f"building environment {name!r} failed:\n{proc.stdout}\n{proc.stderr}")
    BUILT_THIS_SESSION.add(key)


def _venv_in_place(name: str, environments: Path) -> bool:
    """The session's build of ``name`` still matches its definition and has its interpreter."""
    from airflow_isolation.workspace.environment import resolve_venv

    try:
        resolve_venv(environments, BUILD_PATH, name)
    except Exception:  # any reason it is unusable means "build it again"
        return False
    return True


BASE_IMAGES = {python: tag for python, (_suite, tag) in MATRIX_BASE_IMAGES.items()}
"""Python X.Y -> the debootstrapped base image with that python3 (scripts/build_base_image.sh)."""


def build_image(name: str, base_image: str, environments: Path = TEST_ENVIRONMENTS) -> None:
    key = ("image", str(environments), name, base_image)
    if key in BUILT_THIS_SESSION and _image_in_place(name):
        return
    command = [isolationctl(), "env", "build", name, "--target", "image", "--base-image", base_image,
               "--path", str(environments), "--build-path", str(BUILD_PATH)]  # fmt: skip
    proc = subprocess.run(check=False, args=command, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        pytest.fail(f"building the image of {name!r} failed:\n{proc.stdout}\n{proc.stderr}")
    BUILT_THIS_SESSION.add(key)


def _image_in_place(name: str) -> bool:
    """The session's image of ``name`` is still tagged in the engine (a test may remove it, e.g. to
    make a task pull it)."""
    import docker.errors

    from airflow_isolation.workspace.environment import read_image_manifest

    manifest = read_image_manifest(BUILD_PATH, name)
    if manifest is None:
        return False
    client = docker_client()
    try:
        return bool(client.images.get(manifest.image).id == manifest.image_id)
    except docker.errors.DockerException:
        return False
    finally:
        client.close()


def push_image(name: str, registry: str, environments: Path = TEST_ENVIRONMENTS) -> None:
    command = [isolationctl(), "env", "push", name, "--registry", registry,
               "--path", str(environments), "--build-path", str(BUILD_PATH)]  # fmt: skip
    proc = subprocess.run(check=False, args=command, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"pushing the image of {name!r} to {registry} failed:\n{proc.stdout}\n{proc.stderr}")


def host_env(
    environments: Path = TEST_ENVIRONMENTS, extra: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH": str(environments),
            "AIRFLOW__ISOLATION__BUILD_PATH": str(BUILD_PATH),
            "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    env.update(extra or {})
    return env


def airflow_cli(
    *args: str, env: Optional[Mapping[str, str]] = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    airflow = Path(sys.executable).parent / "airflow"
    return subprocess.run(  # noqa: PLW1510 - the return code is asserted
        [str(airflow), *args], capture_output=True, text=True, env=dict(env or host_env()), timeout=timeout
    )


@dataclasses.dataclass
class DagRunReport:
    dag_id: str
    states: Dict[str, str]
    output: str

    def state(self, task_id: str) -> str:
        return self.states.get(task_id, "<not run>")


def task_states(dag_id: str) -> Dict[str, str]:
    """States of the latest run of ``dag_id``, read from the metadata database the run wrote."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        ).first()
        assert run is not None, f"no run of {dag_id} was recorded"
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).all()
        return {
            ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": str(
                getattr(ti.state, "value", ti.state)
            )
            for ti in tis
        }


def return_value(dag_id: str, task_id: str) -> Any:
    """The ``return_value`` XCom ``task_id`` pushed in the latest run of ``dag_id`` that has one."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel)
            .where(XComModel.dag_id == dag_id, XComModel.task_id == task_id, XComModel.key == "return_value")
            .order_by(XComModel.dag_run_id.desc())
        ).first()
        assert row is not None, f"{task_id} pushed no return_value"
        value = row.value
    if not isinstance(value, str):
        return value
    try:  # stored as JSON text by some Airflow versions, as the value itself by others
        return json.loads(value)
    except ValueError:
        return value


def host_airflow_major() -> int:
    from airflow import __version__

    return int(__version__.split(".")[0])


def run_dag(
    dag_id: str,
    env: Mapping[str, str],
    logical_date: str = "2024-01-02",
    conf: Optional[str] = None,
    dag_file: Optional[Path] = None,
) -> DagRunReport:
    """``airflow dags test``; with ``dag_file`` only that file of the DAG folder is parsed."""
    args = ["dags", "test", dag_id, logical_date]
    if conf:
        args += ["--conf", conf]
    if dag_file is not None:
        args += ["--dagfile-path" if host_airflow_major() >= 3 else "--subdir", str(dag_file)]
    proc = airflow_cli(*args, env=env)
    output = proc.stdout + proc.stderr
    try:
        states = task_states(dag_id)
    except AssertionError as exc:  # the DAG did not even start: what airflow said is the diagnosis
        raise AssertionError(f"{exc}; `airflow {' '.join(args)}` said:\n{output[-6000:]}") from None
    return DagRunReport(dag_id, states, output)
