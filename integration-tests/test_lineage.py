"""OpenLineage: the host's listener reports the same lineage for an isolated task as for the same
operator run natively. One ``airflow dags test`` of ``dags/openlineage_facets.py`` runs each task
natively and isolated in an Airflow 3.1 and an Airflow 2.10 target, with the provider's file
transport; the events of each isolated task are compared with its native twin's."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List

import pytest
from harness import TEST_DAGS, build_environment, host_env, run_dag

pytest.importorskip("airflow.providers.openlineage")

ENVIRONMENTS = ("lineage31", "lineage210")
LISTENER_RUN_FACETS = {
    "airflow",
    "debug",
    "processing_engine",
    "parent",
    "nominalTime",
    "tags",
    "errorMessage",
}
"""What the listener adds about the Airflow task and the host (``errorMessage`` describes the exception
the host's task raised); not the operator's lineage."""
TASK_ONLY = {"unknownSourceAttribute"}
"""The listener's description of an operator without lineage: it names the task's class, which is
``IsolatedOperator`` for an isolated task."""


@pytest.fixture(scope="module")
def events(airflow_db: None, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    """``{task_id: {event type: event}}`` of one run of the DAG."""
    for name in ENVIRONMENTS:
        build_environment(name)
    log_file = tmp_path_factory.mktemp("openlineage") / "events.jsonl"
    transport = {"type": "file", "log_file_path": str(log_file), "append": True}
    env = host_env(extra={"AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport)})
    report = run_dag("openlineage_facets", env, dag_file=TEST_DAGS / "openlineage_facets.py")
    expected = {"native_ok": "success", "native_fail": "failed", "native_plain": "success"}
    for name in ENVIRONMENTS:
        expected.update({f"{name}_ok": "success", f"{name}_fail": "failed", f"{name}_plain": "success"})
    assert report.states == expected, report.output[-8000:]
    found: Dict[str, Dict[str, Any]] = {}
    for line in log_file.read_text().splitlines():
        event = json.loads(line)
        dag_id, _, task_id = event["job"]["name"].partition(".")
        if dag_id == "openlineage_facets" and task_id:
            found.setdefault(task_id, {})[event["eventType"]] = event
    return found


def _operator_lineage(event: Dict[str, Any]) -> Dict[str, Any]:
    """What the operator contributed to an event, with the producer's version (the provider's in
    the target may be another release than the host's) left out."""
    run_facets = {k: v for k, v in event["run"]["facets"].items() if k not in LISTENER_RUN_FACETS}
    job_facets = {k: v for k, v in event["job"]["facets"].items() if k not in {"jobType", "ownership"}}
    lineage = {
        "inputs": event.get("inputs", []),
        "outputs": event.get("outputs", []),
        "run": {k: v for k, v in run_facets.items() if k not in TASK_ONLY},
        "job": job_facets,
    }
    return json.loads(
        re.sub(r"providers-openlineage/[^\"]+", "providers-openlineage/<version>", json.dumps(lineage))
    )


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
@pytest.mark.parametrize("outcome", ["ok", "fail"])
def test_isolated_lineage_is_the_native_lineage(
    events: Dict[str, Dict[str, Any]], env_name: str, outcome: str
) -> None:
    final = "COMPLETE" if outcome == "ok" else "FAIL"
    native, isolated = events[f"native_{outcome}"], events[f"{env_name}_{outcome}"]
    assert _operator_lineage(isolated[final]) == _operator_lineage(native[final])
    lineage = _operator_lineage(isolated[final])
    assert [d["name"] for d in lineage["inputs"]] == ["main.orders", "/data/rates.csv"]
    assert lineage["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 3
    load = lineage["run"]["load"]  # the custom facet class, which the host does not have
    assert load["_schemaURL"] == "https://example.com/spec/LoadRunFacet.json#/$defs/LoadRunFacet"
    assert load["details"] == {"state": "success" if outcome == "ok" else "failed"}
    assert ("loadError" in lineage["run"]) == (outcome == "fail")
    if outcome == "fail":
        assert "the load failed after 3 rows" in isolated[final]["run"]["facets"]["errorMessage"]["message"]
    assert lineage["job"]["sql"]["query"].startswith("INSERT INTO totals")
    # START is sent before the target runs: the operator's lineage is not known on the host then
    assert _operator_lineage(isolated["START"]) == {"inputs": [], "outputs": [], "run": {}, "job": {}}


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_without_lineage_methods_both_report_only_the_task(
    events: Dict[str, Dict[str, Any]], env_name: str
) -> None:
    native, isolated = events["native_plain"], events[f"{env_name}_plain"]
    for kind in ("START", "COMPLETE"):
        assert _operator_lineage(isolated[kind]) == _operator_lineage(native[kind])
        assert _facet_names(isolated[kind]) == _facet_names(native[kind])
        assert "unknownSourceAttribute" in isolated[kind]["run"]["facets"]


def _facet_names(event: Dict[str, Any]) -> List[str]:
    return sorted([*event["run"]["facets"], *event["job"]["facets"]])
