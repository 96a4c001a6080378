"""JSON Schema export, so non-Python tools can validate or generate messages."""

from __future__ import annotations

import json
from typing import Any, Dict

import msgspec

from airflow_isolation.core.schema import SCHEMA_VERSION, IsolationRequest, IsolationResult


def schema() -> Dict[str, Any]:
    (request, result), components = msgspec.json.schema_components([IsolationRequest, IsolationResult])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"airflow-isolation wire schema {SCHEMA_VERSION}",
        "x-schema-version": str(SCHEMA_VERSION),
        "oneOf": [request, result],
        "$defs": components,
    }


def main() -> None:
    print(json.dumps(schema(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
