"""Interpreter discovery against the real machine: uv first, pyenv fallback, explicit paths."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.resolve.python_finder import find_python, version_matches

THIS_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_version_matching() -> None:
    assert version_matches("3.11", "3.11.7")
    assert version_matches("3.11.7", "3.11.7")
    assert not version_matches("3.11.6", "3.11.7")
    assert not version_matches("3.1", "3.11.7")
    assert not version_matches("3.12", "3.11.7")


def test_finds_the_running_minor_version() -> None:
    found = find_python(THIS_MINOR)

    assert found.version.startswith(THIS_MINOR + ".")
    assert found.path.is_file()


def test_missing_version_names_what_was_searched() -> None:
    with pytest.raises(CliError) as caught:
        find_python("3.2")

    assert "no Python 3.2 interpreter found" in caught.value.message
    assert "uv python find" in caught.value.message
    assert "pyenv" in caught.value.message
    assert "--python-path" in caught.value.hint


def test_malformed_request_is_refused() -> None:
    with pytest.raises(CliError, match="is not a version like"):
        find_python("latest")


def test_explicit_path_must_match_the_request() -> None:
    with pytest.raises(CliError, match=r"is Python 3\.\d+\.\d+ but the environment asks for python = '3\.2'"):
        find_python("3.2", Path(sys.executable))


def test_explicit_path_must_run(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("not an interpreter")
    with pytest.raises(CliError, match="is not a runnable Python interpreter"):
        find_python(THIS_MINOR, fake)


def test_pyenv_fallback_finds_versions_uv_does_not_see(python312: Path) -> None:
    found = find_python("3.12")

    assert found.version.startswith("3.12.")
    assert found.path.resolve() == python312.resolve()
