"""Building the request on the host: implied connections, upstream XComs, secrets to mask."""

from __future__ import annotations

import decimal
import logging
import threading
from typing import Any

import pytest
from operator_docker_support import StubTaskInstance, task_context

from airflow_isolation.core import CallableSpec, decode_request
from airflow_isolation.operator.exchange.request_builder import (
    build_request,
    encode_request,
    implied_conn_ids,
)
from airflow_isolation.operator.facets import HostTask


def test_conn_ids_from_kwargs_and_defaults() -> None:
    class WithDefault:
        def __init__(self, *, postgres_conn_id: str = "postgres_default", other: int = 1) -> None: ...

    assert implied_conn_ids(WithDefault, {"aws_conn_id": "aws"}) == ["aws", "postgres_default"]
    assert implied_conn_ids(WithDefault, {"postgres_conn_id": "mine"}) == ["mine"]
    assert implied_conn_ids(None, {"conn_id": "x", "label": "y"}) == ["x"]


class _CountedDecimal(decimal.Decimal):
    """Counts how often the encoding walks it (lowering a Decimal reads its ``str``)."""

    walks = 0

    def __str__(self) -> str:
        type(self).walks += 1
        return super().__str__()


class _Upstream(StubTaskInstance):
    def __init__(self, xcoms: dict[str, Any]):
        super().__init__("dag", "me")
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        return self.xcoms[task_ids]


def test_upstream_xcoms_are_lowered_once_and_an_unsendable_one_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    context = task_context("dag", "me")
    context["ti"] = _Upstream({"good": {"total": _CountedDecimal("2.50")}, "bad": threading.Lock()})
    task = CallableSpec(name="f", source="def f(): pass")
    request = build_request(HostTask(context, task, upstream_ids={"good", "bad"}), [], {})
    with caplog.at_level(logging.WARNING):
        payload = encode_request(request)
    assert _CountedDecimal.walks == 1, "an upstream XCom was lowered more than once"
    assert decode_request(payload).context.upstream_xcoms == {"good": {"total": decimal.Decimal("2.50")}}
    assert "Not shipping the XCom of upstream task 'bad'" in caplog.text
    assert "upstream_xcoms['bad']: cannot send a value of type _thread.lock" in caplog.text


def test_rendered_secrets_are_masked_in_the_target_and_no_other_secret_is_sent() -> None:
    from airflow_isolation.operator import airflow_compat
    from airflow_isolation.operator.exchange.request_builder import secrets_of

    airflow_compat.mask_secret("rendered-pw-81f2a", "password")
    airflow_compat.mask_secret("unrelated-pw-77c3b", "password")
    task = CallableSpec(
        name="f",
        source="def f(dsn, parts): pass",
        kwargs={"dsn": ["postgres://u:rendered-pw-81f2a@h"], "parts": ["unrelated-", "pw-77c3b"]},
    )  # the unrelated secret split over two strings is in none of them
    secrets = secrets_of([], {}, task)
    assert "rendered-pw-81f2a" in secrets
    assert "unrelated-pw-77c3b" not in secrets, "a secret the task was not given must not be shipped"
