"""Assets on the host (Airflow 3 here): the wrapper's outlets and inlets are the task's, what the
task reads is shipped in the request, and the outlet events the target recorded are recorded in the
host's own ``outlet_events``, which its task runner turns into asset events as for a native task."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List

import pytest
from operator_docker_support import task_context

from airflow_isolation.core import (
    SCHEMA_VERSION,
    AliasEvent,
    AssetEvent,
    AssetSpec,
    InletEvents,
    IsolationResult,
    OutletEvent,
)
from airflow_isolation.operator import IsolatedOperator
from airflow_isolation.operator.exchange.request_builder import task_context as request_context
from airflow_isolation.operator.exchange.result_handler import IsolatedTaskFailed, apply_result
from airflow_isolation.operator.facets import HostTask, assets

UTC = dt.timezone.utc


def returns_nothing() -> None:
    return None


def _operator(**kwargs: Any) -> IsolatedOperator:
    return IsolatedOperator(task_id="produce", environment="plain", python_callable=returns_nothing, **kwargs)


def _accessors() -> Any:
    from airflow.sdk.execution_time.context import OutletEventAccessors

    return OutletEventAccessors()


def _serialized(accessors: Any) -> List[Dict[str, Any]]:
    """What the host's task runner sends the API server for these accessors on success."""
    from airflow.sdk.execution_time.task_runner import _serialize_outlet_events

    return list(_serialize_outlet_events(accessors))


def test_the_wrappers_outlets_and_inlets_are_the_tasks() -> None:
    from airflow.sdk import Asset

    op = _operator(outlets=[Asset("s3://bucket/out")], inlets=[Asset("s3://bucket/in")])
    assert [o.uri for o in op.outlets] == ["s3://bucket/out"]
    assert [i.uri for i in op.inlets] == ["s3://bucket/in"]


def test_the_decorators_outlets_are_the_tasks() -> None:
    from airflow.sdk import DAG, Asset

    from airflow_isolation.operator.decorator import isolated_task

    with DAG("decorated", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=UTC)) as dag:

        @isolated_task(environment="plain", outlets=[Asset("s3://bucket/out")])
        def emit() -> None:
            return None

        emit()
    assert [o.uri for o in dag.get_task("emit").outlets] == ["s3://bucket/out"]


def test_outlet_events_are_recorded_as_the_same_task_records_them_natively() -> None:
    from airflow.sdk import Asset, AssetAlias

    out = Asset(name="clean", uri="s3://bucket/clean")
    op = _operator(outlets=[out])
    native = _accessors()
    native[out].extra["rows"] = 3
    native[AssetAlias("daily")].add(Asset("s3://bucket/day", extra={"k": 1}), extra={"d": 2})

    context = {**task_context("d", "produce"), "outlet_events": _accessors()}
    result = IsolationResult(
        schema=SCHEMA_VERSION,
        status="success",
        outlet_events=[
            OutletEvent(AssetSpec(name="clean", uri="s3://bucket/clean"), {"rows": 3}),
            OutletEvent(
                AssetSpec(name="daily", alias=True),
                alias_events=[
                    AliasEvent(
                        AssetSpec(name="s3://bucket/day", uri="s3://bucket/day", extra={"k": 1}), {"d": 2}
                    )
                ],
            ),
        ],
    )
    apply_result(op, context, result)
    assert _serialized(context["outlet_events"]) == _serialized(native)


def test_a_dataset_of_an_airflow2_target_is_the_hosts_outlet_asset() -> None:
    """An Airflow 2 target names a dataset by URI only; the host's outlet has a name too."""
    from airflow.sdk import Asset

    out = Asset(name="clean", uri="s3://bucket/clean")
    op = _operator(outlets=[out])
    context = {**task_context("d", "produce"), "outlet_events": _accessors()}
    spec = AssetSpec(name="s3://bucket/clean", uri="s3://bucket/clean")
    result = IsolationResult(
        schema=SCHEMA_VERSION, status="success", outlet_events=[OutletEvent(spec, {"r": 1})]
    )
    apply_result(op, context, result)
    assert context["outlet_events"][out].extra == {"r": 1}
    assert len(context["outlet_events"]) == 1


def test_partition_keys_are_recorded() -> None:
    accessors = _accessors()
    if not hasattr(accessors[assets.host_asset(AssetSpec(name="p", uri="s3://p"))], "add_partitions"):
        pytest.skip("this Airflow has no partitioned asset events")
    context = {**task_context("d", "produce"), "outlet_events": accessors}
    spec = AssetSpec(name="p", uri="s3://p")
    result = IsolationResult(
        schema=SCHEMA_VERSION, status="success", outlet_events=[OutletEvent(spec, partition_keys=["2024"])]
    )
    apply_result(_operator(), context, result)
    assert [e.get("partition_key") for e in _serialized(accessors)] == ["2024"]


def test_a_failed_task_records_no_outlet_events() -> None:
    from airflow_isolation.core import ErrorInfo

    context = {**task_context("d", "produce"), "outlet_events": _accessors()}
    result = IsolationResult(
        schema=SCHEMA_VERSION,
        status="failed",
        error=ErrorInfo("builtins.ValueError", "no", ""),
        outlet_events=[OutletEvent(AssetSpec(name="a", uri="s3://a"), {"r": 1})],
    )
    with pytest.raises(IsolatedTaskFailed):
        apply_result(_operator(), context, result)
    assert len(context["outlet_events"]) == 0


class _Event:
    def __init__(self, n: int, asset: Any, aliases: List[str] = []) -> None:  # noqa: B006
        self.asset = asset
        self.extra = {"n": n}
        self.timestamp = dt.datetime(2024, 1, n, tzinfo=UTC)
        self.source_dag_id = "ingest"
        self.source_task_id = "load"
        self.source_run_id = f"run{n}"
        self.source_map_index = None
        self.source_aliases = [type("Alias", (), {"name": a})() for a in aliases]
        self.partition_key = None


class _InletAccessor:
    """Airflow 3's ``InletEventsAccessor``: asked for the newest first, with a limit."""

    def __init__(self, events: List[_Event]):
        self.events = events
        self.asked: List[Any] = []

    def ascending(self, ascending: bool) -> _InletAccessor:
        self.asked.append(("ascending", ascending))
        return self

    def limit(self, n: int) -> List[_Event]:
        self.asked.append(("limit", n))
        return list(reversed(self.events))[:n]


def test_the_request_ships_assets_inlet_events_and_triggering_events() -> None:
    from airflow.sdk import Asset, AssetAlias

    raw = Asset(name="raw", uri="s3://bucket/raw")
    op = _operator(
        inlets=[raw, AssetAlias("raw_files"), "not an asset"], outlets=[Asset("s3://bucket/clean")]
    )
    accessor = _InletAccessor([_Event(n, raw) for n in range(1, 4)])
    triggering = {
        raw: [_Event(5, raw, ["raw_files"])],
        AssetAlias("raw_files"): [_Event(5, raw, ["raw_files"])],
    }
    context = {
        **task_context("d", "produce"),
        "task": op,
        "inlet_events": {raw: accessor, AssetAlias("raw_files"): _InletAccessor([])},
        "triggering_asset_events": triggering,
    }
    shipped = request_context(HostTask(context))
    raw_spec = AssetSpec(name="raw", uri="s3://bucket/raw", group="asset")
    assert shipped.inlets == [raw_spec, AssetSpec(name="raw_files", alias=True, group="asset")]
    assert shipped.outlets == [AssetSpec(name="s3://bucket/clean", uri="s3://bucket/clean", group="asset")]
    assert accessor.asked == [("ascending", False), ("limit", assets.INLET_EVENTS_LIMIT)]
    inlet = shipped.inlet_events[0]
    assert inlet.inlet == raw_spec
    assert [e.extra for e in inlet.events] == [{"n": 1}, {"n": 2}, {"n": 3}]  # oldest first
    assert shipped.inlet_events[1] == InletEvents(AssetSpec(name="raw_files", alias=True, group="asset"))
    assert shipped.triggering_asset_events == [
        AssetEvent(
            asset=raw_spec,
            extra={"n": 5},
            timestamp=dt.datetime(2024, 1, 5, tzinfo=UTC),
            source_dag_id="ingest",
            source_task_id="load",
            source_run_id="run5",
            source_aliases=["raw_files"],
        )
    ]


def test_an_inlet_the_host_cannot_read_is_shipped_without_events(caplog: pytest.LogCaptureFixture) -> None:
    from airflow.sdk import Asset

    raw = Asset("s3://bucket/raw")
    shipped = assets.inlet_events({"inlet_events": {}}, [raw])
    assert [(s.inlet.uri, s.events) for s in shipped] == [("s3://bucket/raw", [])]
    assert "Cannot read the events of inlet" in caplog.text


class _Unreadable:
    def __iter__(self) -> Any:
        raise RuntimeError("the API server is away")

    def __len__(self) -> int:
        return 1


def test_triggering_events_the_host_cannot_read_are_left_out(caplog: pytest.LogCaptureFixture) -> None:
    """Natively only a task that reads them fails; an isolated one that does finds none."""
    assert assets.triggering_events({"triggering_asset_events": _Unreadable()}) == []
    assert "Cannot read the events that triggered this run" in caplog.text


def test_airflow2_asks_for_triggering_events_only_of_a_dataset_triggered_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Airflow 2's ``triggering_dataset_events`` queries the database when read, and fails under
    ``airflow dags test``: a run no dataset triggered has none, so it is not read."""
    monkeypatch.setattr(assets.airflow_compat, "AIRFLOW_MAJOR", 2)
    raw = type("DatasetModel", (), {"uri": "s3://bucket/raw", "extra": {}})()
    by_uri = {"s3://bucket/raw": [_Event(1, raw)]}
    manual = type("DagRun", (), {"run_type": "manual"})()
    triggered = type("DagRun", (), {"run_type": "dataset_triggered"})()
    assert assets.triggering_events({"dag_run": manual, "triggering_dataset_events": _Unreadable()}) == []
    shipped = assets.triggering_events({"dag_run": triggered, "triggering_dataset_events": by_uri})
    assert [(e.asset.uri, e.extra) for e in shipped] == [("s3://bucket/raw", {"n": 1})]
