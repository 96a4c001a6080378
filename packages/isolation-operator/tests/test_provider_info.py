"""The provider registration Airflow reads: its ``[isolation]`` options are the settings table."""

from __future__ import annotations

from airflow_isolation.operator.__about__ import __version__
from airflow_isolation.operator.config.provider_info import get_provider_info
from airflow_isolation.workspace.settings_table import OPTIONS


def test_the_declared_options_are_the_table() -> None:
    options = get_provider_info()["config"]["isolation"]["options"]
    assert list(options) == [option.name for option in OPTIONS]
    for option in OPTIONS:
        assert options[option.name] == {
            "description": option.description,
            "version_added": option.version_added,
            "type": option.type,
            "example": option.example,
            "default": None,
        }


def test_every_declared_text_is_a_string() -> None:
    """As in a provider.yaml; ``default`` stays unset so Airflow's answer never hides isolation.toml."""
    for declared in get_provider_info()["config"]["isolation"]["options"].values():
        assert all(
            isinstance(declared[key], str) for key in ("description", "version_added", "type", "example")
        )
        assert declared["default"] is None


def test_the_rest_of_the_registration() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-isolation-operator"
    assert info["versions"] == [__version__]
    assert info["task-decorators"] == [
        {"name": "isolated", "class-name": "airflow_isolation.operator.decorator.isolated_task"}
    ]


def test_airflow_finds_it_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    [entry] = [
        e
        for e in entry_points(group="apache_airflow_provider")
        if e.name == "provider_info" and e.value.startswith("airflow_isolation.")
    ]
    assert entry.load() is get_provider_info
