"""Callables cross the boundary as ``CallableSpec`` (extension type 9) through host/target hooks."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from typing import Any, Callable, List
from zoneinfo import ZoneInfo

import pytest
from core_test_support import CARRIERS, Carrier, assert_same, context, request

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    IsolationRequest,
    OperatorSpec,
    ValueEncodeError,
)

WHEN = dt.datetime(2024, 10, 27, 2, 30, tzinfo=ZoneInfo("Europe/Paris"))


def lower_hook(seen: List[str]) -> Callable[[Any, str], CallableSpec]:
    """The host side: a function becomes its import path (records the paths it was called with)."""

    def lower(fn: Any, path: str) -> CallableSpec:
        seen.append(path)
        return CallableSpec(name=fn.__name__, import_path=f"{fn.__module__}:{fn.__qualname__}")

    return lower


def raise_hook(spec: CallableSpec) -> Any:
    """The target side: import it back."""
    assert spec.import_path is not None
    module, _, name = spec.import_path.partition(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_function_lowered_by_hook_and_raised_by_hook(carrier: Carrier) -> None:
    seen: List[str] = []
    req = request({"python_callable": json.dumps, "op_kwargs": {"callbacks": [json.loads]}})
    data = carrier.encode(req, callables=lower_hook(seen))
    assert seen == ["kwargs['python_callable']", "kwargs['op_kwargs']['callbacks'][0]"]
    got = carrier.decode_request(data, callables=raise_hook)
    assert isinstance(got.task, OperatorSpec)
    assert got.task.kwargs["python_callable"] is json.dumps
    assert got.task.kwargs["op_kwargs"]["callbacks"][0] is json.loads


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_without_raising_hook_the_value_is_a_callable_spec(carrier: Carrier) -> None:
    data = carrier.encode(request({"python_callable": json.dumps}), callables=lower_hook([]))
    got = carrier.decode_request(data).task
    assert isinstance(got, OperatorSpec)
    spec = got.kwargs["python_callable"]
    assert isinstance(spec, CallableSpec)
    assert (spec.name, spec.import_path, spec.source, spec.pickled) == ("dumps", "json:dumps", None, None)


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_callable_spec_value_needs_no_hook_to_encode(carrier: Carrier) -> None:
    """A host that already built the spec (e.g. from the function's source) ships it as is."""
    spec = CallableSpec(
        name="transform",
        source="def transform(day):\n    return day\n",
        pickled=b"\x80\x05pickle",
        args=[(1, (2, 3)), WHEN, {"s": {1, 2}}],
        kwargs={"window": (dt.date(2024, 1, 1), dt.timedelta(hours=6)), "at": [WHEN]},
        multiple_outputs=True,
    )
    got = carrier.decode_request(carrier.encode(request({"python_callable": spec, "nested": [(spec,)]})))
    assert isinstance(got.task, OperatorSpec)
    for back in (got.task.kwargs["python_callable"], got.task.kwargs["nested"][0][0]):
        assert isinstance(back, CallableSpec)
        assert (back.name, back.source, back.pickled, back.multiple_outputs) == (
            "transform",
            spec.source,
            b"\x80\x05pickle",
            True,
        )
        assert_same(back.args, [(1, (2, 3)), WHEN, {"s": {1, 2}}])
        assert_same(back.kwargs, {"window": (dt.date(2024, 1, 1), dt.timedelta(hours=6)), "at": [WHEN]})


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_raising_hook_receives_args_with_extension_values(carrier: Carrier) -> None:
    received: List[CallableSpec] = []

    def keep(spec: CallableSpec) -> str:
        received.append(spec)
        return "raised"

    spec = CallableSpec(name="f", import_path="m:f", args=[(1,)], kwargs={"at": WHEN})
    got = carrier.decode_request(carrier.encode(request({"f": spec})), callables=keep)
    assert got.task.kwargs == {"f": "raised"}
    assert len(received) == 1
    assert_same(received[0].args, [(1,)])
    assert_same(received[0].kwargs, {"at": WHEN})


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_task_callable_args_survive(carrier: Carrier) -> None:
    """The ``@task.isolated`` form: the CallableSpec *is* the task; its args/kwargs keep their types."""
    task = CallableSpec(
        name="f",
        import_path="pkg.mod:f",
        args=[(1, [2, (3,)]), WHEN, frozenset({"a"})],
        kwargs={
            "t": ({"k": (dt.time(1, 2),)},),
            "nested_fn": CallableSpec(name="g", import_path="m:g", args=[(9,)]),
        },
    )
    got = carrier.decode_request(
        carrier.encode(IsolationRequest(schema=SCHEMA_VERSION, task=task, context=context()))
    )
    assert isinstance(got.task, CallableSpec)
    assert_same(got.task.args, [(1, [2, (3,)]), WHEN, frozenset({"a"})])
    assert_same(got.task.kwargs["t"], ({"k": (dt.time(1, 2),)},))
    nested = got.task.kwargs["nested_fn"]
    assert isinstance(nested, CallableSpec)
    assert_same(nested.args, [(9,)])


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.name)
def test_callable_without_hook_is_refused_with_its_path(carrier: Carrier) -> None:
    with pytest.raises(ValueEncodeError) as info:
        carrier.encode(request({"op_kwargs": {"fn": lambda: 1}}))
    message = str(info.value)
    assert message.startswith("kwargs['op_kwargs']['fn']: ")
    assert "function" in message
    assert "python_callable" in message
    assert info.value.path == "kwargs['op_kwargs']['fn']"


def test_raising_hook_errors_are_not_disguised() -> None:
    """An import failure in the target is the hook's to report, not a 'corrupted request'."""
    data = request({"f": CallableSpec(name="f", import_path="nowhere:f")})
    for carrier in CARRIERS:
        with pytest.raises(ModuleNotFoundError):
            carrier.decode_request(carrier.encode(data), callables=raise_hook)
