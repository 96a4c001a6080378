"""``isolationctl env warm`` starts and stops an environment's warm runtime; ``doctor`` shows it.

The environment is built with the real runtime (the repository's ``packages/``), since the warm
runtime is part of it; it needs no Airflow. Where the runtime listens is the workspace's
``warm_runtime``, which the venv backend uses too (its tests run a task in a runtime started here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from cli_test_support import REPO_PACKAGES, run_cli

from airflow_isolation.workspace import warm as warm_runtime
from airflow_isolation.workspace.environment import read_manifest
from airflow_isolation.workspace.sandbox import SandboxProfile, availability


@pytest.fixture
def built(env_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tiny`` built with the real runtime; its warm runtimes are stopped afterwards."""
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(REPO_PACKAGES))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert run_cli("env", "create", "tiny").exit_code == 0
    result = run_cli("env", "build", "tiny")
    assert result.exit_code == 0, result.output
    yield env_paths["build"]
    manifest = read_manifest(env_paths["build"], "tiny")
    if manifest is not None:
        warm_runtime.stop(warm_runtime.running(manifest))


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("mode", ["auto", "off"])
def test_env_warm_starts_it_once_doctor_shows_it_and_stop_stops_it(
    built: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the sandbox its tasks get (``auto`` on a machine that has it), or not (``off``)."""
    monkeypatch.setenv("AIRFLOW__ISOLATION__VENV_SANDBOX", mode)
    sandboxed = mode == "auto" and availability().usable
    manifest = read_manifest(built, "tiny")
    assert manifest is not None
    assert "not running" in run_cli("doctor").stdout

    started = run_cli("env", "warm", "tiny", "--idle", "120")
    assert started.exit_code == 0, started.output
    where = "sandboxed" if sandboxed else "unsandboxed"
    assert f"warm runtime started (idles out after 120 s without a task), {where}" in started.stdout
    [process] = warm_runtime.running(manifest)
    variant = warm_runtime.variant(SandboxProfile() if sandboxed else None)
    assert process.socket == warm_runtime.socket_path(manifest, built, variant) and process.socket.exists()
    assert (process.socket.stat().st_mode & 0o777) == 0o600
    assert process.rss_bytes is not None and process.rss_bytes > 1 << 20

    again = run_cli("env", "warm", "tiny")
    assert again.exit_code == 0 and f"already running, {where}: pid {process.pid}" in again.stdout
    assert [p.pid for p in warm_runtime.running(manifest)] == [process.pid]
    log = process.socket.with_suffix(".log").read_text()
    assert "dropped a connection" not in log, "a bare probe is not a protocol error"

    doctor = run_cli("doctor")
    assert doctor.exit_code == 0, doctor.output
    assert "tiny: warm runtime" in doctor.stdout and f"pid {process.pid}, RSS " in doctor.stdout

    stopped = run_cli("env", "warm", "tiny", "--stop")
    assert stopped.exit_code == 0 and f"stopped warm runtime(s) {process.pid}" in stopped.stdout
    assert not _alive(process.pid) and not process.socket.exists()
    assert "no warm runtime running" in run_cli("env", "warm", "--all", "--stop").stdout
