"""``env build --all`` wants one environment NAME or ``--all``, and some environment to build."""

from __future__ import annotations

from pathlib import Path

from cli_test_support import run_cli


def test_build_wants_one_name_or_all(env_paths: dict[str, Path]) -> None:
    assert run_cli("env", "build").exit_code == 2
    assert run_cli("env", "build", "x", "--all").exit_code == 2
    empty = run_cli("env", "build", "--all")
    assert empty.exit_code == 1
    assert "no environments to build" in empty.stderr
