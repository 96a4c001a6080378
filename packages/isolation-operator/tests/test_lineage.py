"""The wrapped operator's OpenLineage lineage on the host: rebuilt from what the target sent, it
makes the same event as the operator's own objects, and the wrapper has the OpenLineage methods
exactly when the wrapped operator has them."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from airflow_isolation.core import (
    SCHEMA_VERSION,
    IsolationResult,
    OpenLineageFacets,
    OpenLineageReport,
    decode_result,
    decode_result_json,
    encode,
    encode_json,
)
from airflow_isolation.operator.facets import openlineage as lineage
from airflow_isolation.operator.operator import IsolatedOperator

pytest.importorskip("airflow.providers.openlineage")
RUNTIME_TESTS = Path(__file__).resolve().parents[2] / "isolation-runtime" / "tests"
sys.path.insert(0, str(RUNTIME_TESTS))

from airflow.providers.openlineage.plugins import adapter  # noqa: E402 - sets the provider as producer
from lineage_operators import LineageOperator, NoLineageOperator  # noqa: E402
from lineage_operators import lineage as operator_lineage  # noqa: E402
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState  # noqa: E402
from openlineage.client.serde import Serde  # noqa: E402

from airflow_isolation.runtime.facets import openlineage as target_lineage  # noqa: E402

RUN_ID = "01932e4d-0000-7000-8000-000000000000"
SECRET = "s3cr3t-value"


def _event(task: Any) -> Dict[str, Any]:
    """The COMPLETE event the provider's adapter builds around an operator's lineage, redacted as it
    redacts (``SECRET`` is registered with the host's masker) and serialised as its transports
    serialise."""
    from airflow.providers.openlineage.utils.utils import OpenLineageRedactor

    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2024-01-02T00:00:00+00:00",
        run=Run(runId=RUN_ID, facets={**task.run_facets}),
        job=Job(namespace="default", name="dag.task", facets={**task.job_facets}),
        inputs=task.inputs,
        outputs=task.outputs,
        producer=adapter._PRODUCER,
    )
    masker = adapter._secrets_masker()
    masker.add_mask(SECRET)
    redactor = OpenLineageRedactor.from_masker(masker)
    return Serde.to_dict(redactor.redact(event, max_depth=20))


def _shipped(native: Any, carrier: str) -> OpenLineageReport:
    """What the runtime sends for ``native``, after the trip through ``carrier``."""
    facets = OpenLineageFacets(
        method="get_openlineage_facets_on_complete",
        inputs=[target_lineage.as_json(d) for d in native.inputs],
        outputs=[target_lineage.as_json(d) for d in native.outputs],
        run_facets={k: target_lineage.as_json(v) for k, v in native.run_facets.items()},
        job_facets={k: target_lineage.as_json(v) for k, v in native.job_facets.items()},
    )
    result = IsolationResult(schema=SCHEMA_VERSION, status="success", openlineage=OpenLineageReport(facets))
    decoded = decode_result_json(encode_json(result)) if carrier == "json" else decode_result(encode(result))
    assert decoded.openlineage is not None
    return decoded.openlineage


@pytest.mark.parametrize("carrier", ["msgpack", "json"])
@pytest.mark.parametrize("error", [None, f"{SECRET} leaked"])
def test_rebuilt_lineage_makes_the_native_event(carrier: str, error: Optional[str]) -> None:
    native = operator_lineage(3, "success", error=error)
    native.run_facets["partition"].note = f"token {SECRET}"  # redacted on both sides
    rebuilt = lineage.operator_lineage(_shipped(copy.deepcopy(native), carrier))
    assert type(rebuilt).__name__ == "OperatorLineage"
    assert [type(d).__name__ for d in rebuilt.inputs] == ["InputDataset", "Dataset"]
    assert [type(d).__name__ for d in rebuilt.outputs] == ["OutputDataset"]
    expected = _event(native)
    assert _event(rebuilt) == expected
    partition = expected["run"]["facets"]["partition"]  # the custom facet, which the host lacks
    assert (
        partition["_schemaURL"] == "https://example.com/spec/PartitionRunFacet.json#/$defs/PartitionRunFacet"
    )
    assert partition["_producer"] == adapter._PRODUCER
    assert partition["note"] == "token ***"


def test_no_lineage_returned_is_none() -> None:
    assert lineage.operator_lineage(None) is None
    assert lineage.operator_lineage(OpenLineageReport()) is None


def _function() -> None:
    return None


def _wrapper(operator: Any) -> IsolatedOperator:
    return IsolatedOperator(task_id="t", environment="plain", operator=operator)


def _has(op: IsolatedOperator, name: str) -> bool:
    return callable(getattr(op, name, None))


METHODS = [
    "get_openlineage_facets_on_start",
    "get_openlineage_facets_on_complete",
    "get_openlineage_facets_on_failure",
]


def test_methods_exist_exactly_when_the_wrapped_operator_has_them() -> None:
    with_lineage, without = _wrapper(LineageOperator), _wrapper(NoLineageOperator)
    assert all(_has(with_lineage, name) for name in METHODS)
    assert not any(_has(without, name) for name in METHODS)
    assert with_lineage.get_openlineage_facets_on_start() is None  # the target has not run yet
    function = IsolatedOperator(task_id="f", environment="plain", python_callable=_function)
    assert not any(_has(function, name) for name in METHODS)


def test_after_the_run_the_target_decides() -> None:
    unknown = IsolatedOperator(
        task_id="t", environment="plain", operator="only_in_the_target.Op", operator_template_fields=[]
    )
    assert not _has(unknown, METHODS[1])  # before the run, a class the host lacks: none
    native = operator_lineage(3, "success")
    unknown._apply({}, IsolationResult(SCHEMA_VERSION, "success", openlineage=_shipped(native, "json")))
    assert all(_has(unknown, name) for name in METHODS)
    for name in METHODS[1:]:
        assert _event(getattr(unknown, name)(None)) == _event(native)

    known = _wrapper(LineageOperator)
    known._apply({}, IsolationResult(SCHEMA_VERSION, "success"))  # a runtime older than schema 1.4
    assert not any(_has(known, name) for name in METHODS)


def test_the_target_computes_lineage_only_when_the_listener_will_ask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.providers.openlineage import conf

    path = "lineage_operators.LineageOperator"
    monkeypatch.setattr(conf, "is_disabled", lambda: True)
    monkeypatch.setattr(conf, "disabled_operators", set)
    assert not lineage.listener_will_ask(path)
    monkeypatch.setattr(conf, "is_disabled", lambda: False)
    assert lineage.listener_will_ask(path)
    assert not lineage.listener_will_ask(None)  # a callable
    monkeypatch.setattr(conf, "disabled_operators", lambda: {path})
    assert not lineage.listener_will_ask(path)
