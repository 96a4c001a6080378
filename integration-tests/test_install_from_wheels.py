"""A user who is not in this repository: the five wheels, a fresh venv, ``isolationctl init``.

The packages are installed from their wheels only (no editable install, no checkout on the path,
no ``$ISOLATION_RUNTIME_SOURCE``), next to Airflow from the index, in a new Python 3.11 venv. The
scaffolded project's environment is built and its DAG run with ``airflow dags test``. Workers are
often air-gapped: the runtime must come from the wheels bundled with the CLI, so a second
environment without requirements is built with every index switched off.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional

import pytest
from harness import BASE_IMAGES, REPO, docker_client, missing, require_base_image
from warm_runtimes import stop_warm_runtimes

pytestmark = pytest.mark.integration

PACKAGES = (
    "isolation-core",
    "isolation-runtime",
    "isolation-workspace",
    "isolation-operator",
    "isolation-cli",
)
HOST_AIRFLOW = "apache-airflow==3.3.2"
PYTHON = "3.11"
DAG_ID = "isolated_example"
OFFLINE = {"UV_OFFLINE": "1", "UV_NO_INDEX": "1", "PIP_NO_INDEX": "1"}
"""Every way uv and pip could reach an index, closed: only files and caches remain."""
_CHECKOUT_VARS = ("PYTHONPATH", "VIRTUAL_ENV", "ISOLATION_RUNTIME_SOURCE", "PYTHONHOME")


def _uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if found is None:
        missing("uv")
    return found  # type: ignore[return-value]


def _run(
    argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float = 1200
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(proc: subprocess.CompletedProcess[str], what: str) -> str:
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{output[-8000:]}"
    return output


def _json(proc: subprocess.CompletedProcess[str], what: str) -> Any:
    """The JSON a command printed last on stdout (Airflow logs warnings before it)."""
    _ok(proc, what)
    return json.loads(proc.stdout.strip().splitlines()[-1])


class UserInstall:
    """The user's venv, project and environment variables, outside the repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.bin = self.venv / "bin"
        self.project = root / "myproj"
        self.env: Dict[str, str] = {
            key: value
            for key, value in os.environ.items()
            if key not in _CHECKOUT_VARS and not key.startswith("AIRFLOW")
        }
        self.env.update(
            {
                "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                "AIRFLOW_HOME": str(root / "airflow-home"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.project / "dags"),
                "AIRFLOW__ISOLATION__SETTINGS_FILE": str(self.project / "isolation.toml"),
                "AIRFLOW__ISOLATION__BUILD_PATH": str(root / "build"),
                "COLUMNS": "250",  # doctor's table on one line per check
            }
        )

    def run(
        self, tool: str, *args: str, extra: Optional[Mapping[str, str]] = None, timeout: float = 1200
    ) -> subprocess.CompletedProcess[str]:
        """``tool``: a command of the user's venv, or an absolute path; run in the project folder."""
        return _run([str(self.bin / tool), *args], self.project, {**self.env, **(extra or {})}, timeout)


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserInstall]:
    uv = _uv()
    root = tmp_path_factory.mktemp("user")
    installed = UserInstall(root)
    wheels = root / "wheels"
    for package in PACKAGES:
        _ok(
            _run(
                [uv, "build", "--wheel", "--out-dir", str(wheels), str(REPO / "packages" / package)],
                root,
                installed.env,
            ),
            f"building the wheel of {package}",
        )
    _ok(_run([uv, "venv", "--python", PYTHON, str(installed.venv)], root, installed.env), "uv venv")
    install = [
        uv,
        "pip",
        "install",
        "--python",
        str(installed.bin / "python"),
        *map(str, sorted(wheels.glob("*.whl"))),
    ]
    _ok(_run([*install, HOST_AIRFLOW], root, installed.env), "installing the wheels and Airflow")
    installed.project.mkdir()
    _ok(installed.run("isolationctl", "init", "."), "isolationctl init")
    assert (installed.project / "dags" / f"{DAG_ID}.py").is_file()
    yield installed
    stop_warm_runtimes(root)  # the user's tasks started them; they would idle out on their own


def test_the_installed_packages_come_from_wheels_not_the_checkout(user: UserInstall) -> None:
    probe = (
        "import json, airflow_isolation.cli as c, airflow_isolation.operator as o; "
        "print(json.dumps([c.__file__, o.__file__]))"
    )
    files = _json(user.run("python", "-c", probe), "importing the packages")
    for module in files:
        assert Path(module).is_relative_to(user.venv), module
        assert not Path(module).is_relative_to(REPO), module


def test_the_scaffolded_dag_runs_on_the_bundled_runtime(user: UserInstall) -> None:
    built = _ok(user.run("isolationctl", "env", "build", "example"), "isolationctl env build example")
    assert "runtime from bundled wheels" in built, built

    doctor = _ok(user.run("isolationctl", "doctor"), "isolationctl doctor")
    assert "accepts this host's schema" in doctor, doctor

    _ok(user.run("airflow", "db", "migrate", timeout=600), "airflow db migrate")
    tested = user.run("airflow", "dags", "test", DAG_ID, "2024-01-02", timeout=900)
    output = _ok(tested, f"airflow dags test {DAG_ID}")
    runs = _json(user.run("airflow", "dags", "list-runs", DAG_ID, "-o", "json"), "list-runs")
    assert runs, output[-6000:]
    states = _json(
        user.run("airflow", "tasks", "states-for-dag-run", DAG_ID, runs[0]["run_id"], "-o", "json"),
        "states-for-dag-run",
    )
    assert {state["task_id"]: state["state"] for state in states} == {
        "describe_target": "success",
        "human_sizes": "success",
    }, output[-6000:]


def test_an_environment_builds_with_every_index_closed(user: UserInstall) -> None:
    """The runtime never needs an index: with uv and pip offline, only the lock's own packages
    (msgspec, in uv's cache since the install above) and the bundled wheels are available."""
    _ok(user.run("isolationctl", "env", "create", "plain"), "isolationctl env create plain")

    built = user.run("isolationctl", "env", "build", "plain", extra=OFFLINE)

    output = _ok(built, "building plain with every index closed")
    assert "runtime from bundled wheels" in output, output
    manifest = json.loads((user.root / "build" / "venvs" / "plain" / "current.json").read_text())
    runtime = user.run(
        str(Path(manifest["venv_path"]) / "bin" / "python"), "-m", "airflow_isolation.runtime", "--help"
    )
    assert "usage: python -m airflow_isolation.runtime" in _ok(runtime, "the runtime in plain")


def test_an_image_carries_the_bundled_runtime(user: UserInstall) -> None:
    client = docker_client()
    base = BASE_IMAGES[PYTHON]
    require_base_image(client, base)

    built = user.run(
        "isolationctl", "env", "build", "plain", "--target", "image", "--base-image", base, timeout=1800
    )

    output = _ok(built, "building the image of plain")
    assert "runtime from bundled wheels" in output, output
    manifest = json.loads((user.root / "build" / "images" / "plain" / "current.json").read_text())
    help_text = client.containers.run(manifest["image"], remove=True, network_disabled=True).decode()
    assert "usage: python -m airflow_isolation.runtime" in help_text
    doctor = _ok(user.run("isolationctl", "doctor"), "isolationctl doctor")
    image_line = next(line for line in doctor.splitlines() if "plain: image" in line)
    assert "accepts this host's schema" in image_line, doctor
