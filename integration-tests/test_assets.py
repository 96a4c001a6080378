"""Asset events of isolated tasks: the producer DAGs of ``dags/assets.py`` run isolated in an Airflow
3.1 and an Airflow 2.10 target and natively; the asset events the host's Airflow registered for them
must carry the same extras (set through ``outlet_events``, yielded as ``Metadata``, added through an
alias) as the native producer's, under ``airflow dags test`` and in a real deployment
(``deployment.py``), where the consumer DAGs the events trigger read the triggering event in their
target and a host task checks what they read (only a scheduler creates asset-triggered runs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

from deployment import Deployment, airflow_deployment
from harness import TEST_DAGS, build_environment, host_env, run_dag

TARGETS = ["native", "af31", "af210"]
ISOLATED = ["af31", "af210"]


NATIVE_EVENTS = [
    ("aliased", "add_through_alias", "assets_producer_<target>", {"via": "alias"}),
    (
        "extras",
        "set_extras",
        "assets_producer_<target>",
        {"rows": 7, "source": {"nested": [1, 2]}, "day": "2024-01-02"},
    ),
    ("metadata", "yield_metadata", "assets_producer_<target>", {"via": "metadata", "n": 1}),
]
"""What the native producer's events must be (the isolated ones must equal them)."""

Event = Tuple[str, str, str, Dict[str, object]]


def _latest_events(target: str) -> List[Event]:
    """The latest event of each of the target's assets in the ``airflow dags test`` database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    prefix = f"s3://isolation-assets/{target}/"
    latest: Dict[str, Event] = {}
    with create_session() as session:
        rows = session.execute(
            select(AssetModel.uri, AssetEvent.source_task_id, AssetEvent.source_dag_id, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.uri.like(prefix + "%"))
            .order_by(AssetEvent.id)
        ).all()
    for uri, task, dag, extra in rows:
        latest[uri] = (uri[len(prefix) :], task, dag, dict(extra))
    return [latest[uri] for uri in sorted(latest)]


def test_dags_test_isolated_producers_emit_the_native_extras(airflow_db: None) -> None:
    for name in ISOLATED:
        build_environment(name)
    for target in TARGETS:
        report = run_dag(f"assets_producer_{target}", host_env())
        failed = {t: s for t, s in report.states.items() if s != "success"}
        assert not failed and len(report.states) == 3, f"{report.states}\n{report.output[-6000:]}"
    assert _without_target(_latest_events("native"), "native") == NATIVE_EVENTS
    for target in ISOLATED:
        assert _without_target(_latest_events(target), target) == NATIVE_EVENTS, target


def _events(airflow: Deployment, target: str) -> List[Event]:
    """(what, source task, source dag, extra) of every event of the target's assets, ``what`` being
    the asset's URI without the target, so targets compare."""
    prefix = f"s3://isolation-assets/{target}/"
    rows = airflow.query(
        "select asset.uri, asset_event.source_task_id, asset_event.source_dag_id, asset_event.extra "
        "from asset_event join asset on asset.id = asset_event.asset_id where asset.uri like ? "
        "order by asset.uri",
        prefix + "%",
    )
    return [(uri[len(prefix) :], task, dag, json.loads(extra)) for uri, task, dag, extra in rows]


def _without_target(events: List[Event], target: str) -> List[object]:
    return [(what, task, dag.replace(target, "<target>"), extra) for what, task, dag, extra in events]


def test_deployment_isolated_events_match_native_and_trigger_isolated_consumers(tmp_path: Path) -> None:
    for name in ISOLATED:
        build_environment(name)
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(TEST_DAGS / "assets.py", dags)

    with airflow_deployment(tmp_path / "airflow", dags, {}) as airflow:
        airflow.wait_until_serving(f"assets_consumer_{TARGETS[-1]}")
        for target in TARGETS:
            airflow.trigger(f"assets_producer_{target}", "produce", {})
        for target in TARGETS:
            producer, consumer = f"assets_producer_{target}", f"assets_consumer_{target}"
            airflow.wait_for(
                f"{producer} ending",
                lambda dag=producer: airflow.run_state(dag, "produce") in ("success", "failed"),
                timeout=600,
            )
            states = airflow.task_states(producer, "produce")
            assert airflow.run_state(producer, "produce") == "success", (
                f"{states}\n{airflow.log_tails(producer, 'produce', states)}"
            )
            airflow.wait_for(
                f"{consumer} being triggered by the asset event and ending",
                lambda dag=consumer: _consumer_state(airflow, dag) in ("success", "failed"),
                timeout=600,
            )
            run_id = airflow.query("select run_id from dag_run where dag_id = ?", consumer)[0][0]
            consumer_states = airflow.task_states(consumer, run_id)
            assert _consumer_state(airflow, consumer) == "success", (
                f"{consumer_states}\n{airflow.log_tails(consumer, run_id, consumer_states)}"
            )
        events = {target: _events(airflow, target) for target in TARGETS}

    native = _without_target(events["native"], "native")
    assert native == NATIVE_EVENTS, native
    for target in ISOLATED:
        assert _without_target(events[target], target) == native, (target, events[target])


def _consumer_state(airflow: Deployment, dag_id: str) -> str:
    rows = airflow.query("select state from dag_run where dag_id = ?", dag_id)
    return str(rows[0][0]) if rows else "<no run>"
