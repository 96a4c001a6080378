"""Turning what happened in the target into a result, without importing Airflow's exceptions."""

from __future__ import annotations

from airflow_isolation.core import Timings
from airflow_isolation.runtime.task import outcome


def test_airflow_skip_exception_and_its_subclasses_mean_skipped() -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    class NotToday(AirflowSkipException):
        pass

    assert outcome.is_skip(AirflowSkipException("x"))
    assert outcome.is_skip(NotToday("x"))
    assert not outcome.is_skip(RuntimeError("AirflowSkipException"))


def test_a_skip_is_recognised_by_name_without_airflow() -> None:
    class AirflowSkipException(Exception):
        pass

    assert outcome.is_skip(AirflowSkipException())


def test_error_info_names_the_class_and_keeps_the_traceback() -> None:
    try:
        raise KeyError("missing-key")
    except KeyError as exc:
        info = outcome.error_info(exc)
    assert info.type == "builtins.KeyError"
    assert info.message == "'missing-key'"
    assert "raise KeyError" in info.traceback


def test_database_errors_carry_the_write_back_hint() -> None:
    class OperationalError(Exception):
        pass

    info = outcome.error_info(OperationalError("no such table: variable"))
    assert info.message.endswith(outcome.WRITE_BACK_HINT)


def test_result_carries_status_branch_and_versions() -> None:
    result = outcome.result("success", Timings(), return_value=1, branch=["a"], airflow_version="3.3.2")
    assert (result.status, result.return_value, result.branch) == ("success", 1, ["a"])
    assert result.target_airflow_version == "3.3.2" and result.target_python_version
    assert result.xcom_pushes == [] and result.variable_writes == []
