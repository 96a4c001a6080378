"""The exported JSON Schema: valid, matching what the JSON carrier writes, and checked in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
from core_test_support import JSON, request, result

from airflow_isolation.core import SCHEMA_VERSION, CallableSpec, ErrorInfo, IsolationRequest, XComPush
from airflow_isolation.core.json_schema import schema

EXPORT = Path(__file__).resolve().parents[1] / "schema" / f"wire-schema-v{SCHEMA_VERSION.major}.json"


def _validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema())
    return jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_schema_is_valid_json_schema() -> None:
    _validator()


def test_schema_shape() -> None:
    doc = schema()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["x-schema-version"] == "1.5"
    assert doc["oneOf"] == [{"$ref": "#/$defs/IsolationRequest"}, {"$ref": "#/$defs/IsolationResult"}]
    assert {"IsolationRequest", "IsolationResult", "OperatorSpec", "CallableSpec", "TaskContext"} <= set(
        doc["$defs"]
    )
    assert json.loads(json.dumps(doc)) == doc  # plain JSON data


def _json(message: Any) -> Dict[str, Any]:
    decoded: Dict[str, Any] = json.loads(JSON.encode(message))
    return decoded


def test_json_results_validate() -> None:
    validator = _validator()
    value = {"t": (1, 2), "when": {"at": 1.5}, "nan": float("nan"), "b": b"\x00"}
    validator.validate(_json(result(value, xcom_pushes=[XComPush("k", {1})], branch=["a"])))
    validator.validate(_json(result(None, status="failed", error=ErrorInfo("E", "m", "tb"))))
    validator.validate(_json(result(None, status="skipped", target_airflow_version="2.10.5")))


def test_json_requests_validate() -> None:
    validator = _validator()
    validator.validate(_json(request({"x": (1,)}, params={"d": {1}})))
    task = CallableSpec(name="f", source="def f(): pass", pickled=b"\x00", args=[(1,)])
    validator.validate(_json(IsolationRequest(schema=SCHEMA_VERSION, task=task, context=request().context)))


def test_invalid_messages_do_not_validate() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = _validator()
    broken = _json(result(1))
    broken["status"] = "exploded"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"schema": [1, 0]})


def test_module_prints_the_schema() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "airflow_isolation.core.json_schema"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == schema()


def test_checked_in_export_is_current() -> None:
    regenerate = (
        f"python -m airflow_isolation.core.json_schema > packages/isolation-core/schema/{EXPORT.name}"
    )
    assert EXPORT.is_file(), f"{EXPORT} is missing: run `{regenerate}`"
    assert json.loads(EXPORT.read_text(encoding="utf-8")) == schema(), (
        f"the wire schema changed but {EXPORT.name} was not updated. If the change is deliberate (and "
        f"follows the schema-version rules), run `{regenerate}` and commit the result."
    )
