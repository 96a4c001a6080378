"""Fixtures for the Docker backend tests: a real engine and a small runtime image built here.

The image is built from ``isolation-base:bookworm`` with wheels prepared on the host (msgspec and
pip downloaded, core and runtime built from this checkout) and installed offline, the way the CLI
builds environment images; it has no Airflow, so callables run as plain functions. Tests skip when
the engine or the base image is missing, and fail instead under ``ISOLATION_REQUIRE_REAL=1``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from operator_docker_support import (  # noqa: E402
    BASE_IMAGE,
    REPO,
    TestEnvironments,
    missing,
)
from real_components import docker_engine, require_image  # noqa: E402
from warm_runtimes import stop_warm_runtimes  # noqa: E402

_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY wheels /wh
RUN python3 -m venv --without-pip /opt/isolation/venv \\
 && mkdir -p -m 1777 /isolation /opt/isolation/airflow-home \\
 && /opt/isolation/venv/bin/python "$(ls /wh/pip-*.whl)/pip" install --no-index --find-links /wh \\
      --no-cache-dir --disable-pip-version-check --quiet airflow-isolation-runtime \\
 && rm -rf /wh
"""


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    client = docker_engine()
    yield client
    client.close()


def _wheelhouse(target: Path) -> None:
    target.mkdir()
    download = [sys.executable, "-m", "pip", "download", "msgspec", "pip", "--only-binary=:all:",
                "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11", "--no-deps",
                "--disable-pip-version-check", "-d", str(target)]  # fmt: skip
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        missing("uv (to build the core and runtime wheels of the test image)")
    steps = [download] + [
        [str(uv), "build", "--wheel", "--out-dir", str(target), str(REPO / "packages" / package)]
        for package in ("isolation-core", "isolation-runtime")
    ]
    for command in steps:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            pytest.fail(f"preparing the test image's wheels failed: {command}\n{proc.stdout}{proc.stderr}")


@pytest.fixture(scope="session")
def runtime_image(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``airflow-isolation/optest:<random>``, removed at the end."""
    import docker.errors

    require_image(docker_client, BASE_IMAGE)
    context = tmp_path_factory.mktemp("image")
    _wheelhouse(context / "wheels")
    (context / "Dockerfile").write_text(_DOCKERFILE)
    tag = f"airflow-isolation/optest:{uuid.uuid4().hex[:12]}"
    try:
        docker_client.images.build(path=str(context), tag=tag, rm=True, pull=False)
    except docker.errors.BuildError as exc:
        log = "".join(str(item.get("stream", item)) for item in exc.build_log)
        pytest.fail(f"building the test image failed: {exc}\n{log}")
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.fixture(scope="session")
def venv_environments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestEnvironments]:
    """A ``venvtest`` environment (Python 3.11, no Airflow) built with ``isolationctl`` as users do;
    the warm runtimes its tasks started are stopped at the end of the session."""
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    isolationctl = shutil.which("isolationctl", path=str(Path(sys.executable).parent))
    if uv is None or isolationctl is None:
        missing("uv and isolationctl (to build the venv test environment)")
    envs = TestEnvironments(
        tmp_path_factory.mktemp("venv-environments"), tmp_path_factory.mktemp("venv-builds")
    )
    (envs.definitions / "venvtest").mkdir()
    (envs.definitions / "venvtest" / "environment.toml").write_text('python = "3.11"\nrequirements = []\n')
    command = [str(isolationctl), "env", "build", "venvtest", "--target", "venv",
               "--path", str(envs.definitions), "--build-path", str(envs.builds)]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        pytest.fail(f"building the venv test environment failed:\n{proc.stdout}{proc.stderr}")
    yield envs
    stop_warm_runtimes(envs.builds)


@pytest.fixture
def venv_env(venv_environments: TestEnvironments, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Points the host at the venv test environment, and its run folders at a fresh temp directory
    (returned), so a test sees exactly what its runs leave behind."""
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(venv_environments.definitions))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(venv_environments.builds))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


@pytest.fixture(scope="session")
def docker_environments(runtime_image: str, tmp_path_factory: pytest.TempPathFactory) -> TestEnvironments:
    """Environment definitions and image manifests in temporary folders (see ``use``)."""
    envs = TestEnvironments(tmp_path_factory.mktemp("environments"), tmp_path_factory.mktemp("builds"))
    envs.add("dockertest", image=runtime_image)
    return envs


@pytest.fixture
def docker_env(docker_environments: TestEnvironments, monkeypatch: pytest.MonkeyPatch) -> TestEnvironments:
    """Points the host's ``[isolation]`` configuration at the test environments for one test. Their
    tasks start cold, each in a container of its own: ``real/backends/docker/test_standby.py``
    tests standby containers."""
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(docker_environments.definitions))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(docker_environments.builds))
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME", "False")
    return docker_environments
