"""The settings table: its options, how a configured text becomes a typed value, its Markdown."""

from __future__ import annotations

import pytest

from airflow_isolation.workspace.settings_table import (
    DEFAULT_BACKEND,
    KUBERNETES_SWEEP_GRACE_SECONDS,
    OPTIONS,
    OPTIONS_BY_NAME,
    PARSERS,
    WARM_RUNTIME,
    WARM_RUNTIME_IDLE_SECONDS,
    InvalidSetting,
    Option,
    markdown_table,
)

READ_BY_THE_CODE = {
    "environments_path",
    "build_path",
    "default_backend",
    "warm_runtime",
    "warm_runtime_idle_seconds",
    "venv_sandbox",
    "kubernetes_namespace",
    "kubernetes_conn_id",
    "image_registry",
    "image_pull_policy",
    "kubernetes_sweep_grace_seconds",
}


def test_the_table_holds_each_option_once() -> None:
    assert [o.name for o in OPTIONS] == list(OPTIONS_BY_NAME)
    assert set(OPTIONS_BY_NAME) == READ_BY_THE_CODE


@pytest.mark.parametrize("option", OPTIONS, ids=[o.name for o in OPTIONS])
def test_each_option_is_complete(option: Option[object]) -> None:
    assert option.type in PARSERS
    assert option.description.endswith(".") and option.example
    assert option.version_added.count(".") == 2
    if option.default is not None:
        assert option.value(option.example) is not None
        assert type(option.default) is type(option.value(option.example))


def test_unset_and_empty_mean_the_default() -> None:
    for option in OPTIONS:
        assert option.value(None) == option.default
        assert option.value("") == option.default
    assert (WARM_RUNTIME.default, WARM_RUNTIME_IDLE_SECONDS.default, DEFAULT_BACKEND.default) == (
        True,
        600.0,
        "venv",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("False", False), (" off ", False), ("NO", False), ("0", False), ("True", True), ("yes", True)],
)
def test_a_boolean_is_off_only_when_it_says_so(raw: str, expected: bool) -> None:
    assert WARM_RUNTIME.value(raw) is expected


def test_numbers() -> None:
    assert WARM_RUNTIME_IDLE_SECONDS.value("42") == 42.0
    assert WARM_RUNTIME_IDLE_SECONDS.value(" 1.5 ") == 1.5
    assert WARM_RUNTIME_IDLE_SECONDS.value("soon") == 600.0, "lenient: a bad value is the default"
    assert KUBERNETES_SWEEP_GRACE_SECONDS.value("60") == 60.0
    with pytest.raises(InvalidSetting, match=r"\[isolation\] kubernetes_sweep_grace_seconds = 'soon'"):
        KUBERNETES_SWEEP_GRACE_SECONDS.value("soon")


def test_a_string_is_kept_as_set() -> None:
    assert DEFAULT_BACKEND.value("docker") == "docker"


def test_variable() -> None:
    assert WARM_RUNTIME_IDLE_SECONDS.variable == "AIRFLOW__ISOLATION__WARM_RUNTIME_IDLE_SECONDS"


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="type 'int'"):
        Option("x", "int", 0, "X.")


def test_markdown_table() -> None:
    lines = markdown_table().splitlines()
    assert lines[0] == "| name | type | default | description |"
    assert len(lines) == 2 + len(OPTIONS)
    assert lines[2].startswith("| `environments_path` | string | `$AIRFLOW_HOME/environments` | ")
    row = next(line for line in lines if line.startswith("| `warm_runtime_idle_seconds` "))
    assert "| float | `600` |" in row
    assert all(line.count(" | ") == 3 for line in lines[2:])
