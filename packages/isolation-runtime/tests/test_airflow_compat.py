"""What differs between no Airflow, Airflow 2 and Airflow 3 in the target.

The interpreter is this test's own, with the host's Airflow 3 installed, so the Airflow 3 paths run
for real; the no-Airflow paths run in an interpreter that cannot see Airflow (``without_airflow``).
Airflow 2 targets are covered by integration-tests/.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any, Dict

import pytest
from runtime_test_support import without_airflow

from airflow_isolation.runtime.task import airflow_compat
from airflow_isolation.runtime.task.context import current_context as runtime_current_context


def _installed() -> airflow_compat.AirflowInfo:
    info = airflow_compat.detect()
    assert info is not None
    return info


def test_detect_finds_the_installed_airflow_3() -> None:
    import airflow

    info = _installed()
    assert info.major == 3
    assert info.version == airflow.__version__


def test_detect_without_airflow_is_none_and_imports_nothing_it_would_not_need(tmp_path: Path) -> None:
    out = without_airflow(
        """
        import sys
        from airflow_isolation.runtime.task import airflow_compat
        print(airflow_compat.detect(), "importlib.metadata" in sys.modules)
        """,
        tmp_path,
    )
    assert out.split() == ["None", "False"]


def test_major_version_is_read_from_the_version_string() -> None:
    assert airflow_compat.AirflowInfo("2.10.5").major == 2
    assert airflow_compat.AirflowInfo("3.1.0rc1").major == 3


def test_configure_environment_puts_our_secrets_backend_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "somewhere.Else")
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND_KWARGS", '{"token": "x"}')
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "True")
    airflow_compat.configure_environment()
    assert os.environ["AIRFLOW__SECRETS__BACKEND"] == (
        "airflow_isolation.runtime.task.secrets_backend.RequestSecretsBackend"
    )
    assert "AIRFLOW__SECRETS__BACKEND_KWARGS" not in os.environ
    assert os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] == "True", "a setting the user made is kept"


def test_the_secrets_backend_path_names_the_real_class() -> None:
    from airflow_isolation.runtime.task.secrets_backend import RequestSecretsBackend

    cls = RequestSecretsBackend
    assert f"{cls.__module__}.{cls.__qualname__}" == airflow_compat._SECRETS_BACKEND


def test_import_class() -> None:
    assert airflow_compat.import_class("collections.OrderedDict") is __import__("collections").OrderedDict
    with pytest.raises(
        ImportError, match=r"'OrderedDict' is not a dotted path like 'package\.module\.Class'"
    ):
        airflow_compat.import_class("OrderedDict")
    with pytest.raises(ImportError, match="module 'collections' has no attribute 'Nope'"):
        airflow_compat.import_class("collections.Nope")


def test_current_context_is_airflows_under_airflow_3() -> None:
    from airflow.sdk import get_current_context

    context: Dict[str, Any] = {"ds": "2024-01-02"}
    with airflow_compat.current_context(_installed(), context):
        assert get_current_context()["ds"] == "2024-01-02"
        assert runtime_current_context() == context


def test_current_context_without_airflow_is_the_runtimes_own() -> None:
    context: Dict[str, Any] = {"ds": "2024-01-03"}
    with airflow_compat.current_context(None, context):
        assert runtime_current_context() == context


def test_an_airflow_3_operator_executes_as_the_task_runner_runs_it() -> None:
    from airflow.sdk import BaseOperator

    class Echo(BaseOperator):
        def execute(self, context: Any) -> Any:
            return context["ds"]

    prepared = Echo(task_id="echo").prepare_for_execution()
    assert airflow_compat.execute_operator(_installed(), prepared, {"ds": "2024-01-02"}) == "2024-01-02"


def test_airflow_2_passes_the_class_sentinel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow 2.9.2+ refuses ``execute`` without ``<Class>__sentinel``; older 2.x has none to pass."""
    sentinel = object()
    monkeypatch.setitem(sys.modules, "airflow.models.base", types.SimpleNamespace(_sentinel=sentinel))

    class Legacy:
        def execute(self, context: Any, **kwargs: Any) -> Any:
            return context, kwargs

    value = airflow_compat.execute_operator(airflow_compat.AirflowInfo("2.10.5"), Legacy(), {"ds": "d"})
    assert value == ({"ds": "d"}, {"Legacy__sentinel": sentinel})
