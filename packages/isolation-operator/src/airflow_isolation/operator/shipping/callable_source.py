"""Shipping Python callables as source, the way Airflow's virtualenv decorator does.

A function defined in a DAG file cannot be imported in the target (the DAG file is not a module
there, and its imports may not exist), so its source travels instead: the ``def`` and its body,
without decorators, after what it uses of the DAG file's top level (``dag_file_code.py``: its
imports, helper functions and constants; never the DAG definitions). This is checked when the DAG
is parsed, so an unshippable callable (a lambda, a builtin, a function typed into a REPL) fails at
parse time rather than when the task runs.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, Callable

from airflow_isolation.core import CallableSpec, ValueEncodeError
from airflow_isolation.operator.shipping.dag_file_code import function_preamble


def callable_spec(func: Callable[..., Any], path: str = "python_callable") -> CallableSpec:
    if isinstance(func, str):
        return CallableSpec(name=func.rpartition(":")[2] or func, import_path=func)
    name = getattr(func, "__name__", None)
    if not inspect.isfunction(func) or name is None:
        raise ValueEncodeError(
            path,
            func,
            "only functions defined with `def` can be shipped (or a 'package.module:function' string)",
        )
    if name == "<lambda>":
        raise ValueEncodeError(
            path, func, "lambdas cannot be shipped as source; define the function with `def`"
        )
    source = function_source(func, path)
    preamble = function_preamble(func, source)
    return CallableSpec(name=name, source=f"{preamble}\n\n{source}" if preamble else source)


def function_source(func: Callable[..., Any], path: str) -> str:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as exc:
        raise ValueEncodeError(
            path, func, f"its source code is not available ({exc}); define it in a .py file"
        ) from exc
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func.__name__:
            lines = source.splitlines(keepends=True)
            return "".join(lines[node.lineno - 1 : node.end_lineno])
    raise ValueEncodeError(path, func, "could not find its `def` in its source")
