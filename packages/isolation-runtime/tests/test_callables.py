"""Rebuilding a shipped callable in the target: from source or an import path, never from a pickle."""

from __future__ import annotations

import pytest

from airflow_isolation.core import CallableSpec
from airflow_isolation.runtime.task.callables import CallableLoadError, load_callable


def test_source_and_import_path_load() -> None:
    assert load_callable(CallableSpec(name="f", source="def f():\n    return 3\n"))() == 3
    assert load_callable(CallableSpec(name="dumps", import_path="json:dumps"))([1]) == "[1]"


def test_a_pickled_callable_is_refused_naming_source_and_import_path() -> None:
    spec = CallableSpec(name="clean", pickled=b"\x80\x05\x95fake-cloudpickle")
    with pytest.raises(CallableLoadError) as info:
        load_callable(spec)
    message = str(info.value)
    assert message.startswith("callable 'clean' was shipped pickled, which this runtime does not load")
    assert "ship it as source" in message and "'package.module:function'" in message


def test_a_callable_with_nothing_to_load_is_refused() -> None:
    with pytest.raises(CallableLoadError, match="carries neither source nor import path"):
        load_callable(CallableSpec(name="f"))
