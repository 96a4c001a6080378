"""``isolationctl env build --target venv`` with real uv builds of a tiny environment."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_test_support import PY38_AND_LATER, PY38_ONLY, run_cli

from airflow_isolation.cli.venv.builder import LOCK_TEXT_FILE, MARKER
from airflow_isolation.core import SCHEMA_VERSION
from airflow_isolation.workspace.environment import read_manifest, resolve_venv


def run_cli_process(*args: str) -> subprocess.Popen[str]:
    """``isolationctl`` as its own process, for real concurrency and real file locks."""
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_isolation.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_blocked_on_flock(process: subprocess.Popen[str], timeout: float = 300) -> None:
    """Until the kernel lists ``process`` as waiting for a flock (``->`` in ``/proc/locks``).

    A fixed sleep is not enough on a busy machine: the CLI may not even have started by then, and the
    lock would be released before it ever had to wait.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the build ended while another build held the lock"
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if fields[1:3] == ["->", "FLOCK"] and len(fields) > 5 and fields[5] == str(process.pid):
                return
        time.sleep(0.05)
    raise AssertionError(f"isolationctl (pid {process.pid}) never waited for the held lock")


IMPORT_CHECK = (
    "import six, airflow_isolation.runtime as r, airflow_isolation.core as c, platform; "
    "print(six.__version__, r.MARK, c.__version__, platform.python_version())"
)


def create(name: str, *extra: str) -> None:
    result = run_cli("env", "create", name, *extra)
    assert result.exit_code == 0, result.output


def build(name: str, *extra: str) -> tuple[int, str]:
    result = run_cli("env", "build", name, "--target", "venv", *extra)
    return result.exit_code, result.output


def hash_dirs(build_path: Path, name: str) -> list[Path]:
    folder = build_path / "venvs" / name
    return sorted(entry for entry in folder.iterdir() if entry.is_dir())


def venv_says(venv: Path) -> list[str]:
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", IMPORT_CHECK], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_build_creates_a_venv_with_requirements_and_runtime(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")

    code, output = build("tiny")

    assert code == 0, output
    assert "Built tiny" in output
    manifest = resolve_venv(env_paths["environments"], env_paths["build"], "tiny")
    venv = Path(manifest.venv_path)
    assert venv.parent == env_paths["build"] / "venvs" / "tiny"
    assert venv.name == manifest.content_hash
    assert (venv / MARKER).is_file()
    assert "six==1.16.0" in (venv / LOCK_TEXT_FILE).read_text()
    assert not (venv / LOCK_TEXT_FILE).read_text().startswith("#")
    # Byte-compiled at build time: tasks must not recompile (PYTHONDONTWRITEBYTECODE may be set).
    assert list(venv.glob("lib/python*/site-packages/__pycache__/six.*.pyc")), "six was not byte-compiled"
    six_version, mark, core_version, python_version = venv_says(venv)
    assert (six_version, mark) == ("1.16.0", "original")
    assert core_version == "0.1.0"
    assert python_version == manifest.python_version
    assert manifest.runtime_version.startswith("local-")
    assert manifest.built_at.endswith("+00:00")
    raw = json.loads((env_paths["build"] / "venvs" / "tiny" / "current.json").read_text())
    assert set(raw) == {
        "name",
        "content_hash",
        "definition_digest",
        "venv_path",
        "python_version",
        "runtime_version",
        "built_at",
        "runtime_schema",
    }
    assert raw["runtime_schema"] == str(SCHEMA_VERSION)


def test_second_build_is_up_to_date_and_touches_nothing(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")
    assert build("tiny")[0] == 0
    manifest_file = env_paths["build"] / "venvs" / "tiny" / "current.json"
    venv = Path(read_manifest(env_paths["build"], "tiny").venv_path)
    watched = [manifest_file, venv, venv / "bin" / "python", venv / MARKER]
    before = [(os.stat(path).st_ino, os.stat(path).st_mtime_ns) for path in watched]

    code, output = build("tiny")

    assert code == 0, output
    assert "tiny is up to date" in output
    assert "creating venv" not in output
    assert [(os.stat(path).st_ino, os.stat(path).st_mtime_ns) for path in watched] == before
    assert hash_dirs(env_paths["build"], "tiny") == [venv]


def test_changed_requirement_rebuilds_into_a_new_hash(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")
    assert build("tiny")[0] == 0
    first = read_manifest(env_paths["build"], "tiny")
    definition = env_paths["environments"] / "tiny" / "environment.toml"
    definition.write_text(definition.read_text().replace("six==1.16.0", "six==1.15.0"))

    code, output = build("tiny")

    assert code == 0, output
    second = read_manifest(env_paths["build"], "tiny")
    assert second.content_hash != first.content_hash
    assert venv_says(Path(second.venv_path))[0] == "1.15.0"
    assert Path(first.venv_path).is_dir(), "the previous build is kept (two newest)"


def test_build_folders_are_pruned_to_the_two_newest(env_paths: dict[str, Path]) -> None:
    create("tiny")
    definition = env_paths["environments"] / "tiny" / "environment.toml"
    venvs = []
    for description in ("one", "two", "three"):
        definition.write_text(
            definition.read_text().rsplit("description", 1)[0] + f'description = "{description}"\n'
        )
        assert build("tiny")[0] == 0
        venvs.append(Path(read_manifest(env_paths["build"], "tiny").venv_path))

    assert hash_dirs(env_paths["build"], "tiny") == sorted(venvs[1:])


def test_switching_back_reuses_the_kept_build(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")
    definition = env_paths["environments"] / "tiny" / "environment.toml"
    original = definition.read_text()
    assert build("tiny")[0] == 0
    first = read_manifest(env_paths["build"], "tiny")
    definition.write_text(original.replace("1.16.0", "1.15.0"))
    assert build("tiny")[0] == 0
    definition.write_text(original)

    code, output = build("tiny")

    assert code == 0, output
    assert "Reused existing build" in output
    assert read_manifest(env_paths["build"], "tiny").venv_path == first.venv_path


def test_incomplete_build_is_discarded_and_redone(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")
    assert build("tiny")[0] == 0
    venv = Path(read_manifest(env_paths["build"], "tiny").venv_path)
    (env_paths["build"] / "venvs" / "tiny" / "current.json").unlink()
    (venv / MARKER).unlink()
    leftover = venv / "half-written"
    leftover.write_text("from a crashed build")

    code, output = build("tiny")

    assert code == 0, output
    assert "discarding" in output
    assert not leftover.exists()
    assert (venv / MARKER).is_file()
    assert read_manifest(env_paths["build"], "tiny").venv_path == str(venv)
    assert venv_says(venv)[0] == "1.16.0"


def test_manifest_pointing_at_an_unmarked_build_is_not_trusted(env_paths: dict[str, Path]) -> None:
    create("tiny")
    assert build("tiny")[0] == 0
    venv = Path(read_manifest(env_paths["build"], "tiny").venv_path)
    (venv / MARKER).unlink()

    code, output = build("tiny")

    assert code == 0, output
    assert "up to date" not in output
    assert (venv / MARKER).is_file()


def test_force_rebuilds_the_same_hash(env_paths: dict[str, Path]) -> None:
    create("tiny")
    assert build("tiny")[0] == 0
    venv = Path(read_manifest(env_paths["build"], "tiny").venv_path)
    (venv / "stray").write_text("x")

    code, output = build("tiny", "--force")

    assert code == 0, output
    assert "Built tiny" in output
    assert not (venv / "stray").exists()
    assert read_manifest(env_paths["build"], "tiny").venv_path == str(venv)
    assert (venv / MARKER).is_file()


def test_editing_runtime_source_triggers_a_rebuild_with_the_new_code(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")
    assert build("tiny")[0] == 0
    first = read_manifest(env_paths["build"], "tiny")
    module = (
        env_paths["runtime"] / "isolation-runtime" / "src" / "airflow_isolation" / "runtime" / "__init__.py"
    )
    module.write_text('MARK = "edited"\n')

    code, output = build("tiny")

    assert code == 0, output
    second = read_manifest(env_paths["build"], "tiny")
    assert second.content_hash != first.content_hash
    assert second.runtime_version != first.runtime_version
    assert venv_says(Path(second.venv_path))[1] == "edited"


def test_concurrent_builds_serialise_and_produce_one_build(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")

    processes = [run_cli_process("env", "build", "tiny", "--target", "venv") for _ in range(2)]
    outputs = [process.communicate(timeout=300)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    assert sum("Built tiny" in output for output in outputs) == 1, outputs
    assert sum("tiny is up to date" in output for output in outputs) == 1, outputs
    manifest = read_manifest(env_paths["build"], "tiny")
    assert hash_dirs(env_paths["build"], "tiny") == [Path(manifest.venv_path)]
    assert venv_says(Path(manifest.venv_path))[0] == "1.16.0"


def test_a_held_lock_makes_a_build_wait(env_paths: dict[str, Path]) -> None:
    create("tiny", "-r", "six==1.16.0")
    env_dir = env_paths["build"] / "venvs" / "tiny"
    env_dir.mkdir(parents=True)
    with open(env_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        process = run_cli_process("env", "build", "tiny")
        wait_blocked_on_flock(process)
        assert hash_dirs(env_paths["build"], "tiny") == []
    output = process.communicate(timeout=300)[0]

    assert process.returncode == 0, output
    assert "waiting for another build" in output
    assert "Built tiny" in output


def test_missing_environment_points_to_env_create(env_paths: dict[str, Path]) -> None:
    result = run_cli("env", "build", "nope")

    assert result.exit_code == 1
    assert "environment 'nope' not found" in result.stderr
    assert "isolationctl env create nope" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_key_is_named(env_paths: dict[str, Path]) -> None:
    folder = env_paths["environments"] / "typo"
    folder.mkdir(parents=True)
    (folder / "environment.toml").write_text('python = "3.11"\nrequirments = ["six"]\n')

    result = run_cli("env", "build", "typo")

    assert result.exit_code == 1
    assert "requirments" in result.stderr
    assert str(folder / "environment.toml") in result.stderr
    assert "Allowed keys" in result.stderr
    assert "Traceback" not in result.output


def test_unavailable_python_is_a_clear_error(env_paths: dict[str, Path]) -> None:
    create("ancient", "--python", "3.2")

    result = run_cli("env", "build", "ancient")

    assert result.exit_code == 1
    assert "no Python 3.2 interpreter found" in result.stderr
    assert "--python-path" in result.stderr
    assert not (env_paths["build"] / "venvs" / "ancient").exists()


def test_unresolvable_requirement_shows_uv_output(env_paths: dict[str, Path]) -> None:
    create("broken", "-r", "six==999.0.0")

    result = run_cli("env", "build", "broken")

    assert result.exit_code == 1
    assert "resolving the requirements" in result.stderr
    assert "six" in result.stderr.split("last", 1)[-1]
    assert "fix: fix `requirements`" in result.stderr
    assert not (env_paths["build"] / "venvs" / "broken").exists()


def test_a_package_whose_requires_python_excludes_the_python_is_refused(
    env_paths: dict[str, Path], bounded_wheels: Path
) -> None:
    # uv locks and installs it anyway (it ignores Requires-Python upper bounds): the CLI must refuse.
    create("bounded", "--python", "3.11", "-r", f"{PY38_ONLY}==1.0", "-r", "six==1.16.0")
    definition = env_paths["environments"] / "bounded" / "environment.toml"

    result = run_cli("env", "build", "bounded", "--target", "venv")

    assert result.exit_code == 1, result.output
    python = "3.11"
    assert (
        f"error: {PY38_ONLY} 1.0 requires Python >=3.8,<3.9 (its Requires-Python), but environment "
        f"'bounded' ({definition}) builds for Python {python}."
    ) in result.stderr
    assert (
        f'fix: set python = "3.8" there, or require a version of {PY38_ONLY} that supports Python {python}'
    ) in result.stderr
    assert "Traceback" not in result.output
    env_dir = env_paths["build"] / "venvs" / "bounded"
    assert read_manifest(env_paths["build"], "bounded") is None
    assert hash_dirs(env_paths["build"], "bounded") == [], "the refused venv was left behind"
    listed = {entry["name"]: entry for entry in json.loads(run_cli("env", "list", "--json").stdout)}
    assert listed["bounded"]["state"] == "not built"
    assert not (env_dir / "current.json").exists()


def test_a_package_whose_requires_python_admits_the_python_builds(
    env_paths: dict[str, Path], bounded_wheels: Path
) -> None:
    create("admitted", "-r", f"{PY38_AND_LATER}==1.0")

    code, output = build("admitted")

    assert code == 0, output
    assert "checking the installed packages' Requires-Python" in output
    venv = Path(read_manifest(env_paths["build"], "admitted").venv_path)
    module = PY38_AND_LATER.replace("-", "_")
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", f"import {module}; print({module}.VERSION)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.strip() == "1.0", proc.stderr


def test_image_options_are_refused_for_a_venv(env_paths: dict[str, Path]) -> None:
    create("tiny")

    result = run_cli("env", "build", "tiny", "--base-image", "x:1", "--tag", "stable")

    assert result.exit_code == 2
    assert "--base-image, --tag only apply to --target image" in result.stderr
    assert not (env_paths["build"] / "venvs" / "tiny").exists()


@pytest.mark.parametrize("explicit", [False, True], ids=["discovered", "python-path"])
def test_build_with_a_second_python(env_paths: dict[str, Path], python312: Path, explicit: bool) -> None:
    create("py312", "--python", "3.12", "-r", "six==1.16.0")

    extra = ("--python-path", str(python312)) if explicit else ()
    code, output = build("py312", *extra)

    assert code == 0, output
    manifest = read_manifest(env_paths["build"], "py312")
    assert manifest.python_version.startswith("3.12.")
    assert venv_says(Path(manifest.venv_path))[3] == manifest.python_version


def test_python_path_of_the_wrong_version_is_refused(env_paths: dict[str, Path], python312: Path) -> None:
    create("tiny", "--python", "3.11")

    result = run_cli("env", "build", "tiny", "--python-path", str(python312))

    assert result.exit_code == 1
    assert "but the environment asks for python = '3.11'" in result.stderr
