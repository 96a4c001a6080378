"""The wrapped operator's OpenLineage lineage, computed in the target as the provider's
DefaultExtractor would compute it when the task ends, and sent back as plain JSON."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from pathlib import Path
from typing import Any, Dict, List

import attrs
import pytest
from runtime_test_support import run, without_airflow

from airflow_isolation.core import OperatorSpec, RunOptions
from airflow_isolation.runtime.facets import openlineage as lineage

HERE = Path(__file__).resolve().parent
ON_TARGET_PATH = {"PYTHONPATH": str(HERE)}
ASKED = RunOptions(openlineage=True)
"""What a host whose OpenLineage listener is enabled sends."""

pytest.importorskip("airflow.providers.openlineage")
from airflow.providers.openlineage.plugins import adapter  # noqa: E402 - a native run's listener has it
from lineage_operators import LineageOperator  # noqa: E402


def _serde(value: Any) -> Any:
    from openlineage.client.serde import Serde

    return Serde.to_dict(value)


def test_success_reports_on_complete_with_what_execute_learnt(tmp_path: Path) -> None:
    spec = OperatorSpec("lineage_operators.LineageOperator", {})
    code, out, result = run(spec, tmp_path, env=ON_TARGET_PATH, options=ASKED)
    assert code == 0, out
    assert result.openlineage is not None and result.openlineage.lineage is not None
    facets = result.openlineage.lineage
    assert facets.method == "get_openlineage_facets_on_complete"
    native = LineageOperator(task_id="t")
    native.rows = 3
    expected = _serde(native.get_openlineage_facets_on_complete(_TaskInstance("success")))
    assert facets.inputs == expected["inputs"]
    assert facets.outputs == expected["outputs"]
    assert facets.run_facets == expected["run_facets"]
    assert facets.job_facets == expected["job_facets"]
    assert facets.run_facets["partition"]["_schemaURL"].startswith(
        "https://example.com/spec/PartitionRunFacet"
    )
    assert facets.run_facets["partition"]["_producer"] == adapter._PRODUCER
    assert facets.run_facets["partition"]["details"] == {"state": "success", "rows": 3}


def test_failure_reports_on_failure(tmp_path: Path) -> None:
    spec = OperatorSpec("lineage_operators.LineageOperator", {"fail": True})
    code, out, result = run(spec, tmp_path, env=ON_TARGET_PATH, options=ASKED)
    assert code != 0, out
    assert result.status == "failed"
    assert result.openlineage is not None and result.openlineage.lineage is not None
    facets = result.openlineage.lineage
    assert facets.method == "get_openlineage_facets_on_failure"
    assert facets.run_facets["errorMessage"]["message"] == "the load failed"
    assert facets.run_facets["partition"]["details"] == {"state": "failed"}  # rows None: left out


def test_only_on_start_is_called_again_at_the_end(tmp_path: Path) -> None:
    spec = OperatorSpec("lineage_operators.StartOnlyLineageOperator", {})
    code, out, result = run(spec, tmp_path, env=ON_TARGET_PATH, options=ASKED)
    assert code == 0, out
    assert result.openlineage is not None and result.openlineage.lineage is not None
    assert result.openlineage.lineage.method == "get_openlineage_facets_on_start"
    assert result.openlineage.lineage.run_facets["partition"]["details"] == {"state": "start-only", "rows": 3}


@pytest.mark.parametrize("name", ["NoneLineageOperator", "BrokenLineageOperator"])
def test_no_lineage_returned_never_fails_the_task(name: str, tmp_path: Path) -> None:
    spec = OperatorSpec(f"lineage_operators.{name}", {})
    code, out, result = run(spec, tmp_path, env=ON_TARGET_PATH, options=ASKED)
    assert code == 0, out
    assert result.status == "success"
    assert result.return_value == 3
    assert result.openlineage is not None  # the methods exist: the host keeps them
    assert result.openlineage.lineage is None
    if name == "BrokenLineageOperator":
        assert "failed to extract its lineage: RuntimeError: lineage went wrong" in out


def test_nothing_is_computed_unless_the_host_asks(tmp_path: Path) -> None:
    spec = OperatorSpec("lineage_operators.BrokenLineageOperator", {})
    code, out, result = run(spec, tmp_path, env=ON_TARGET_PATH)
    assert code == 0, out
    assert result.openlineage is None
    assert "lineage went wrong" not in out  # the method was not called


def test_an_operator_without_lineage_methods_reports_nothing(tmp_path: Path) -> None:
    spec = OperatorSpec("lineage_operators.NoLineageOperator", {})
    code, out, result = run(spec, tmp_path, env=ON_TARGET_PATH, options=ASKED)
    assert code == 0, out
    assert result.openlineage is None


def test_a_target_without_openlineage_logs_the_import_error(tmp_path: Path) -> None:
    out = without_airflow(
        """
        from airflow_isolation.runtime.facets import openlineage as lineage

        class NeedsOpenLineage:
            def get_openlineage_facets_on_complete(self, task_instance):
                from openlineage.client.event_v2 import Dataset

        print(lineage.report(NeedsOpenLineage(), None, False, print))
        """,
        tmp_path,
    )
    assert "could not import its OpenLineage integration" in out
    assert out.strip().endswith("OpenLineageReport(lineage=None)")


class _TaskInstance:
    def __init__(self, state: str) -> None:
        self.state = state


class _Colour(enum.Enum):
    RED = "red"


@attrs.define
class _Inner:
    name: str
    gone: Any = None


@attrs.define
class _Outer:
    _producer: str
    items: List[Any]
    mapping: Dict[str, Any]
    colour: _Colour = _Colour.RED
    when: dt.datetime = dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    ident: uuid.UUID = attrs.field(factory=lambda: uuid.UUID(int=7))
    other: Any = None


def test_as_json_writes_what_serde_and_json_write() -> None:
    import json

    from openlineage.client.serde import Serde

    value = _Outer(
        producer="p",
        items=[_Inner("a"), None, {}, _Inner("b", gone={"x": None}), (1, 2)],
        mapping={"k": _Inner("c"), "none": None},
        other=object(),
    )
    assert lineage.as_json(value) == json.loads(Serde.to_json(value))
