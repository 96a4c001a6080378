"""The launch protocol: what hosts build is what the runtime parses."""

from __future__ import annotations

import fnmatch
import hashlib

import pytest

from airflow_isolation.core import RunOptions, launch
from airflow_isolation.runtime import entrypoint


@pytest.mark.parametrize("result_format", launch.RESULT_FORMATS)
def test_arguments_round_trip_through_the_runtime_parser(result_format: str) -> None:
    arguments = launch.runtime_arguments("/in/request.msgpack", "/out/result", result_format)
    parsed = entrypoint._parse_args(arguments)
    assert (parsed.request, parsed.result, parsed.result_format) == (
        "/in/request.msgpack",
        "/out/result",
        result_format,
    )


def test_the_default_format_is_left_to_the_runtime_default() -> None:
    assert launch.runtime_arguments("r", "o") == [launch.REQUEST_OPTION, "r", launch.RESULT_OPTION, "o"]
    assert entrypoint._parse_args(launch.runtime_arguments("r", "o")).result_format == "msgpack"


def test_an_unknown_format_is_refused_on_the_host() -> None:
    with pytest.raises(ValueError, match="msgpack, json"):
        launch.runtime_arguments("r", "o", "yaml")


def test_command_is_the_module_of_the_runtime_run_by_the_given_python() -> None:
    command = launch.runtime_command("/venv/bin/python", "r", "o", "json")
    assert command[:3] == ["/venv/bin/python", "-m", "airflow_isolation.runtime"]
    assert command[3:] == ["--request", "r", "--result", "o", "--result-format", "json"]
    assert launch.runtime_entry("/venv/bin/python") == command[:3]


@pytest.mark.parametrize(("number", "count"), [(1, 1), (2, 3), (9999, 9999)])
def test_part_names_format_and_parse(number: int, count: int) -> None:
    name = launch.part_name("request.msgpack", number, count)
    assert name == f"request.msgpack.part-{number:04d}-of-{count:04d}"
    assert launch.parse_part_name(name) == (number, count)
    assert fnmatch.fnmatch(name, launch.part_pattern("request.msgpack"))


@pytest.mark.parametrize(
    "name", ["request.msgpack", "request.msgpack.part-1-of-3", "x.part-0001-of-0003.tmp"]
)
def test_other_names_are_not_parts(name: str) -> None:
    assert launch.parse_part_name(name) is None


@pytest.mark.parametrize(("number", "count"), [(0, 1), (2, 1), (1, 10000)])
def test_impossible_parts_are_refused(number: int, count: int) -> None:
    with pytest.raises(ValueError, match=r"numbered 1\.\.count"):
        launch.part_name("request.msgpack", number, count)


def test_exit_codes_are_distinct_and_skip_is_the_schema_default() -> None:
    codes = [
        launch.EXIT_SUCCESS,
        launch.EXIT_FAILED,
        launch.EXIT_BAD_REQUEST,
        launch.EXIT_SKIPPED,
        launch.EXIT_KILLED,
    ]
    assert len(set(codes)) == len(codes)
    assert launch.EXIT_SKIPPED == RunOptions().skip_exit_code == 99
    assert launch.EXIT_KILLED == 137


def test_image_paths_hang_together() -> None:
    assert launch.IMAGE_PYTHON == f"{launch.IMAGE_VENV}/bin/python" == "/opt/isolation/venv/bin/python"
    assert launch.IMAGE_REQUEST_FILE.startswith(launch.IMAGE_IO_DIR + "/")
    assert launch.IMAGE_RESULT_FILE.startswith(launch.IMAGE_IO_DIR + "/")
    assert launch.IMAGE_REQUEST_FILE != launch.IMAGE_RESULT_FILE


def test_environment_of_a_venv_with_and_without_a_search_path() -> None:
    assert launch.venv_environment("/v", "/home", "/usr/bin:/bin") == {
        "PATH": "/v/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": "/v",
        "AIRFLOW_HOME": "/home",
        "PYTHONUNBUFFERED": "1",
    }
    assert "PATH" not in launch.venv_environment("/v", "/home")


def test_request_environment_carries_the_digest_of_the_exact_bytes() -> None:
    digest = hashlib.sha256(b"abc").hexdigest()
    assert launch.request_environment(b"abc") == {"ISOLATION_REQUEST_SHA256": digest}
