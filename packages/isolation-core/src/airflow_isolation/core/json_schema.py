"""JSON Schema export, so non-Python tools can validate or generate messages."""

from __future__ import annotations

import inspect
import json
from typing import Any, Dict

import msgspec

from airflow_isolation.core.schema import SCHEMA_VERSION, IsolationRequest, IsolationResult


def schema() -> Dict[str, Any]:
    """The JSON Schema of both messages (``oneOf`` request, result), as the JSON carrier writes them.

    ``Any`` values (kwargs, params, return values) are unconstrained here; in them an extension value
    is the one-key object ``{"__isolation_ext__": [code, base64 msgpack payload]}``.
    """
    (request, result), components = msgspec.json.schema_components([IsolationRequest, IsolationResult])
    for component in components.values():
        # msgspec copies docstrings verbatim; Python 3.13+ dedents them at compile time: normalize.
        if isinstance(component.get("description"), str):
            component["description"] = inspect.cleandoc(component["description"])
    doc: Dict[str, Any] = _canonical(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"airflow-isolation wire schema {SCHEMA_VERSION}",
            "x-schema-version": str(SCHEMA_VERSION),
            "oneOf": [request, result],
            "$defs": components,
        }
    )
    return doc


def _canonical(node: Any) -> Any:
    """Order ``anyOf`` alternatives (order-insensitive) canonically: msgspec versions differ there."""
    if isinstance(node, dict):
        out = {key: _canonical(value) for key, value in node.items()}
        if isinstance(out.get("anyOf"), list):
            out["anyOf"] = sorted(out["anyOf"], key=lambda item: json.dumps(item, sort_keys=True))
        return out
    if isinstance(node, list):
        return [_canonical(item) for item in node]
    return node


def main() -> None:
    print(json.dumps(schema(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
