"""Requires-Python: reading it from wheels, checking it against the target, and the refusal message."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_test_support import make_wheel

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.resolve.requires_python import (
    Distribution,
    PythonTarget,
    check_requires_python,
    refusal,
    suggest_python,
    supports,
    unsupported,
    wheel_distribution,
)


def test_requires_python_is_read_from_the_wheels_metadata(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "Some-Package", "2.0", ">=3.8,<3.9")

    assert wheel_distribution(wheel) == Distribution("Some-Package", "2.0", ">=3.8,<3.9")


def test_an_unreadable_wheel_is_named_with_a_fix(tmp_path: Path) -> None:
    wheel = tmp_path / "broken-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not a zip")

    with pytest.raises(CliError) as raised:
        wheel_distribution(wheel)

    assert str(wheel) in raised.value.message
    assert raised.value.hint == f"delete {wheel} (the next build fetches it again)"


@pytest.mark.parametrize(
    ("requires_python", "python", "expected"),
    [
        ("!=3.13.*,>=3.8", "3.13.0", False),
        ("!=3.13.*,>=3.8", "3.12.7", True),
        (">=3.8,<3.9", "3.11.2", False),
        (">=3.12", "3.11.2", False),
        ("<3.14", "3.14.0rc1", False),  # a pre-release interpreter counts as its release, as in pip
        (None, "3.13.0", True),
        ("", "3.13.0", True),
        ("not a specifier", "3.13.0", True),  # pip ignores an invalid Requires-Python too
    ],
)
def test_requires_python_admits(requires_python: str | None, python: str, expected: bool) -> None:
    assert supports(requires_python, python) is expected


def test_unsupported_lists_each_refused_distribution_once_sorted() -> None:
    airflow = Distribution("apache-airflow", "2.10.5", "!=3.13.*,>=3.8")
    found = [Distribution("zed", "1", "<3"), airflow, Distribution("six", "1.16.0", None), airflow]

    assert unsupported(found, "3.13.0") == [airflow, Distribution("zed", "1", "<3")]


def test_refusal_names_the_package_the_environment_and_a_python_that_works() -> None:
    target = PythonTarget("x", Path("/envs/x/environment.toml"), "3.13.0")
    airflow = Distribution("apache-airflow", "2.10.5", "!=3.13.*,>=3.8")

    with pytest.raises(CliError) as raised:
        check_requires_python([airflow, Distribution("six", "1.16.0", ">=2.7")], target)

    assert raised.value.message == (
        "apache-airflow 2.10.5 requires Python !=3.13.*,>=3.8 (its Requires-Python), but environment 'x' "
        "(/envs/x/environment.toml) builds for Python 3.13.0"
    )
    assert raised.value.hint == (
        'set python = "3.12" there, or require a version of apache-airflow that supports Python 3.13'
    )


def test_refusal_of_several_packages_lists_them_all() -> None:
    target = PythonTarget("x", Path("/envs/x/environment.toml"), "3.11.2")
    refused = [Distribution("a", "1", ">=3.12"), Distribution("b", "2", ">=3.8,<3.11")]

    error = refusal(refused, target)

    assert error.message == (
        "2 packages exclude Python 3.11.2 in their Requires-Python, but environment 'x' "
        "(/envs/x/environment.toml) builds for Python 3.11.2"
    )
    assert error.details == ["a 1 requires Python >=3.12", "b 2 requires Python >=3.8,<3.11"]
    assert error.hint == "require versions of a, b that support Python 3.11"  # no Python suits both


def test_suggested_python_is_the_nearest_one_every_refused_package_supports() -> None:
    assert suggest_python([Distribution("a", "1", "!=3.13.*")], "3.13.0") == "3.12"
    assert suggest_python([Distribution("a", "1", ">=3.12")], "3.11.2") == "3.12"
    assert suggest_python([Distribution("a", "1", ">=3.8,<3.9")], "3.11.2") == "3.8"
    assert suggest_python([Distribution("a", "1", "<3")], "3.11.2") is None
