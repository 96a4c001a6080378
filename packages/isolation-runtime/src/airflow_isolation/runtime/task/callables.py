"""Turning a shipped ``CallableSpec`` back into a function."""

from __future__ import annotations

import importlib
import linecache
from typing import Any, Callable

from airflow_isolation.core import CallableSpec


class CallableLoadError(Exception):
    """The shipped callable cannot be rebuilt in this environment."""


def load_callable(spec: CallableSpec) -> Callable[..., Any]:
    if spec.pickled is not None:
        raise CallableLoadError(
            f"callable {spec.name!r} was shipped pickled, which this runtime does not load (the field "
            "is reserved in the wire schema): ship it as source (a function defined with `def` in a "
            ".py file) or as an import path 'package.module:function'"
        )
    if spec.source is not None:
        return _from_source(spec)
    if spec.import_path is not None:
        return _from_import_path(spec.import_path)
    raise CallableLoadError(f"callable {spec.name!r} carries neither source nor import path")


def _from_source(spec: CallableSpec) -> Callable[..., Any]:
    """Execute the source in a fresh module, as Airflow's virtualenv operator does.

    The source is registered with ``linecache`` so tracebacks show the user's lines.
    """
    filename = f"<isolated {spec.name}>"
    source = spec.source or ""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": "__isolated__"}
    try:
        exec(compile(source, filename, "exec"), namespace)
    except Exception as exc:
        raise CallableLoadError(
            f"the source of {spec.name!r} does not run in this environment: {type(exc).__name__}: {exc}. "
            "Functions are shipped as source: import what they need inside the function body."
        ) from exc
    func = namespace.get(spec.name)
    if not callable(func):
        raise CallableLoadError(f"the shipped source does not define a function named {spec.name!r}")
    return func  # type: ignore[no-any-return]


def _from_import_path(path: str) -> Callable[..., Any]:
    module_name, _, attr_path = path.partition(":")
    if not attr_path:
        module_name, _, attr_path = path.rpartition(".")
    try:
        target: Any = importlib.import_module(module_name)
        for attr in attr_path.split("."):
            target = getattr(target, attr)
    except (ImportError, AttributeError) as exc:
        raise CallableLoadError(
            f"cannot import {path!r} in this environment ({exc}); add the package that provides it to "
            "the environment's requirements and rebuild it"
        ) from exc
    if not callable(target):
        raise CallableLoadError(f"{path!r} is not callable")
    return target  # type: ignore[no-any-return]
