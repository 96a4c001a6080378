"""The host's readers of Airflow's ``[isolation]`` options: typed and defaulted by the settings table."""

from __future__ import annotations

import pytest

from airflow_isolation.operator.config import settings
from airflow_isolation.operator.config.settings import BackendSettingError
from airflow_isolation.workspace.settings_table import (
    IMAGE_REGISTRY,
    KUBERNETES_SWEEP_GRACE_SECONDS,
    OPTIONS,
    WARM_RUNTIME,
    WARM_RUNTIME_IDLE_SECONDS,
)


@pytest.fixture(autouse=True)
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in OPTIONS:
        monkeypatch.delenv(option.variable, raising=False)


def test_unset_options_read_as_their_defaults() -> None:
    assert settings.warm_enabled() is True
    assert settings.idle_seconds() == 600.0
    assert settings.read(IMAGE_REGISTRY) is None
    assert settings.kubernetes_settings() == settings.KubernetesSettings(None, None, None, None, None)


def test_the_values_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WARM_RUNTIME.variable, "False")
    monkeypatch.setenv(WARM_RUNTIME_IDLE_SECONDS.variable, "42")
    monkeypatch.setenv(KUBERNETES_SWEEP_GRACE_SECONDS.variable, "60")
    monkeypatch.setenv(IMAGE_REGISTRY.variable, "registry.example.com:5000")
    assert settings.warm_enabled() is False
    assert settings.idle_seconds() == 42.0
    configured = settings.kubernetes_settings()
    assert (configured.sweep_grace_seconds, configured.image_registry) == (60.0, "registry.example.com:5000")


def test_warm_settings_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    for text, enabled in (("off", False), ("0", False), ("no", False), ("True", True), ("", True)):
        monkeypatch.setenv(WARM_RUNTIME.variable, text)
        assert settings.warm_enabled() is enabled, text
    monkeypatch.setenv(WARM_RUNTIME_IDLE_SECONDS.variable, "soon")
    assert settings.idle_seconds() == 600.0, "a bad idle time is the default, never a failed task"
    monkeypatch.setenv(WARM_RUNTIME_IDLE_SECONDS.variable, "-1")
    assert settings.idle_seconds() == -1.0


@pytest.mark.parametrize("text", ["soon", "-5"])
def test_a_bad_sweep_grace_is_refused(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(KUBERNETES_SWEEP_GRACE_SECONDS.variable, text)
    with pytest.raises(
        BackendSettingError, match=rf"\[isolation\] kubernetes_sweep_grace_seconds = '{text}' is not a number"
    ):
        settings.kubernetes_settings()
