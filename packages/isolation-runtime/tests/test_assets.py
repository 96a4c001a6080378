"""Assets in the target: the events a task reads are rebuilt with their native access shape, and
what it records in ``outlet_events`` (extras, alias events, ``yield Metadata``) comes back in the
result. Subprocess tests run under the installed Airflow 3; the Airflow 2 shapes are checked on
stand-ins of Airflow 2's accessors."""

from __future__ import annotations

import datetime as dt
import sys
import types
from pathlib import Path
from typing import Any, Dict, List

import pytest
from runtime_test_support import callable_from_source, run, task_context

from airflow_isolation.core import (
    AliasEvent,
    AssetEvent,
    AssetSpec,
    InletEvents,
    OperatorSpec,
    OutletEvent,
    TaskContext,
)
from airflow_isolation.runtime.facets import assets
from airflow_isolation.runtime.task.airflow_compat import AirflowInfo

PYTHON = "airflow.providers.standard.operators.python.PythonOperator"
UTC = dt.timezone.utc
RAW = AssetSpec(name="raw", uri="s3://bucket/raw")
RAW_FILES = AssetSpec(name="raw_files", alias=True)


def _event(n: int, asset: AssetSpec = RAW, aliases: List[str] = []) -> AssetEvent:  # noqa: B006
    return AssetEvent(
        asset=asset,
        extra={"n": n},
        timestamp=dt.datetime(2024, 1, n, tzinfo=UTC),
        source_dag_id="ingest",
        source_task_id="load",
        source_run_id=f"run{n}",
        source_aliases=aliases,
    )


READS = task_context(
    inlets=[RAW, RAW_FILES],
    outlets=[AssetSpec(name="clean", uri="s3://bucket/clean")],
    inlet_events=[InletEvents(RAW, [_event(1), _event(2)]), InletEvents(RAW_FILES, [])],
    triggering_asset_events=[_event(3, aliases=["raw_files"])],
)


def test_operator_outlet_extras_and_alias_events_come_back(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def emit(outlet_events):
            from airflow.sdk import Asset, AssetAlias

            outlet_events[Asset("s3://bucket/clean")].extra["rows"] = 3
            outlet_events[AssetAlias("daily")].add(Asset("s3://bucket/day", extra={"k": 1}), extra={"d": 2})
            return "done"
    """)
    code, out, result = run(OperatorSpec(PYTHON, {"python_callable": fn}), tmp_path)
    assert code == 0, out
    assert result.return_value == "done"
    assert result.outlet_events == [
        OutletEvent(AssetSpec(name="s3://bucket/clean", uri="s3://bucket/clean"), {"rows": 3}),
        OutletEvent(
            AssetSpec(name="daily", alias=True),
            alias_events=[
                AliasEvent(AssetSpec(name="s3://bucket/day", uri="s3://bucket/day", extra={"k": 1}), {"d": 2})
            ],
        ),
    ]


METADATA_SOURCE = """
    def produce():
        from airflow.sdk import Asset, AssetAlias, Metadata

        yield Metadata(Asset(name="clean", uri="s3://bucket/clean"), {"rows": 5}, alias=AssetAlias("daily"))
        return 42
"""


def test_a_callable_yielding_metadata_records_it(tmp_path: Path) -> None:
    code, out, result = run(callable_from_source(METADATA_SOURCE), tmp_path)
    assert code == 0, out
    assert result.return_value == 42
    clean = AssetSpec(name="clean", uri="s3://bucket/clean")
    assert result.outlet_events == [
        OutletEvent(clean, {"rows": 5}),
        OutletEvent(AssetSpec(name="daily", alias=True), alias_events=[AliasEvent(clean, {"rows": 5})]),
    ]


def test_python_operator_yielding_metadata_records_it(tmp_path: Path) -> None:
    code, out, result = run(
        OperatorSpec(PYTHON, {"python_callable": callable_from_source(METADATA_SOURCE)}), tmp_path
    )
    assert code == 0, out
    assert result.return_value == 42
    assert result.outlet_events[0] == OutletEvent(
        AssetSpec(name="clean", uri="s3://bucket/clean"), {"rows": 5}
    )


def test_a_failed_task_reports_no_outlet_events(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def emit(outlet_events):
            from airflow.sdk import Asset

            outlet_events[Asset("s3://bucket/clean")].extra["rows"] = 3
            raise ValueError("no")
    """)
    _, out, result = run(fn, tmp_path)
    assert result.status == "failed", out
    assert result.outlet_events == []


def test_inlet_and_triggering_events_read_as_natively(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def read(inlet_events, triggering_asset_events, inlets, outlets):
            from airflow.sdk import Asset, AssetAlias

            raw = Asset(name="raw", uri="s3://bucket/raw")
            latest = inlet_events[raw][-1]
            trigger = triggering_asset_events[Asset("s3://bucket/raw")][0]
            return {
                "latest": latest.extra,
                "by_index": [e.extra["n"] for e in inlet_events[0]],
                "alias_inlet": list(inlet_events[AssetAlias("raw_files")]),
                "trigger": [trigger.extra, trigger.source_dag_id, trigger.source_run_id],
                "day": trigger.timestamp.day,
                "via_alias": len(triggering_asset_events[AssetAlias("raw_files")]),
                "asset": [trigger.asset.name, trigger.asset.uri],
                "keys": sorted(type(k).__name__ for k in triggering_asset_events),
                "inlets": [type(i).__name__ for i in inlets],
                "outlets": [o.uri for o in outlets],
            }
    """)
    code, out, result = run(fn, tmp_path, context=READS)
    assert code == 0, out
    assert result.return_value == {
        "latest": {"n": 2},
        "by_index": [1, 2],
        "alias_inlet": [],
        "trigger": [{"n": 3}, "ingest", "run3"],
        "day": 3,
        "via_alias": 1,
        "asset": ["raw", "s3://bucket/raw"],
        "keys": ["Asset", "AssetAlias"],
        "inlets": ["Asset", "AssetAlias"],
        "outlets": ["s3://bucket/clean"],
    }


def test_reading_an_asset_that_is_not_an_inlet_names_the_fix() -> None:
    entries = assets.context_entries(None, READS)
    with pytest.raises(KeyError, match=r"add it to inlets=\[\.\.\.\]"):
        entries["inlet_events"]["s3://elsewhere"]
    with pytest.raises(KeyError, match="triggered"):
        entries["triggering_asset_events"]["s3://elsewhere"]


def test_without_airflow_the_reads_are_plain_objects() -> None:
    entries = assets.context_entries(None, READS)
    assert "outlet_events" not in entries
    assert entries["inlet_events"]["s3://bucket/raw"][-1].extra == {"n": 2}
    assert [i.name for i in entries["inlets"]] == ["raw", "raw_files"]
    assert entries["inlet_events"][entries["inlets"][1]] == []  # the alias, found by its own key
    assert assets.recorded(None, entries) == []


def _airflow2_assets(monkeypatch: pytest.MonkeyPatch) -> AirflowInfo:
    monkeypatch.setattr(assets, "target_asset", lambda info, spec: assets.shipped(spec))
    return AirflowInfo("2.10.5")


def test_airflow2_triggering_dataset_events_are_keyed_by_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    info = _airflow2_assets(monkeypatch)
    ctx = TaskContext(dag_id="d", task_id="t", run_id="r", triggering_asset_events=[_event(3, aliases=["a"])])
    events = assets._triggering_events(info, ctx.triggering_asset_events)
    assert assets.triggering_key(info) == "triggering_dataset_events"
    assert list(events) == ["s3://bucket/raw"]
    assert events["s3://bucket/raw"][0].extra == {"n": 3}
    assert events["s3://bucket/raw"][0].dataset.uri == "s3://bucket/raw"
    assert events["s3://other"] == []  # a defaultdict(list) natively


class _Dataset:
    def __init__(self, uri: str):
        self.uri = uri


class _DatasetAlias:
    def __init__(self, name: str):
        self.name = name


class _Accessor:
    def __init__(self, raw_key: Any, extra: Dict[str, Any], alias_events: List[Dict[str, Any]]):
        self.raw_key = raw_key
        self.extra = extra
        self.dataset_alias_events = alias_events


class _Accessors:
    def __init__(self, *accessors: _Accessor):
        self._dict = {str(i): a for i, a in enumerate(accessors)}


def test_airflow2_outlet_events_by_object_and_by_metadata_strings() -> None:
    """``yield Metadata`` on Airflow 2 keys the dataset by URI string and the alias by name string."""
    alias_event = {"source_alias_name": "daily", "dest_dataset_uri": "s3://day", "extra": {"d": 1}}
    accessors = _Accessors(
        _Accessor(_Dataset("s3://clean"), {"rows": 3}, []),
        _Accessor("s3://meta", {"m": 1}, []),
        _Accessor("daily", {}, [alias_event]),
        _Accessor(_DatasetAlias("weekly"), {}, []),
    )
    recorded = assets.recorded(AirflowInfo("2.10.5"), {"outlet_events": accessors})
    assert recorded == [
        OutletEvent(AssetSpec(name="s3://clean", uri="s3://clean"), {"rows": 3}),
        OutletEvent(AssetSpec(name="s3://meta", uri="s3://meta"), {"m": 1}),
        OutletEvent(
            AssetSpec(name="daily", alias=True),
            alias_events=[AliasEvent(AssetSpec(name="s3://day", uri="s3://day"), {"d": 1})],
        ),
        OutletEvent(AssetSpec(name="weekly", alias=True)),
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("s3://bucket/raw", True),
        ("raw", True),
        (_Dataset("s3://bucket/raw"), True),
        (_Dataset("s3://bucket/other"), False),
        (_DatasetAlias("raw"), False),
    ],
)
def test_a_shipped_asset_is_found_by_uri_or_name(key: Any, expected: bool) -> None:
    assert RAW.matches(key) is expected
    assert RAW_FILES.matches(_DatasetAlias("raw_files"))


def test_a_task_with_outlets_gets_airflows_accessors_without_naming_airflow(tmp_path: Path) -> None:
    """A callable that never mentions Airflow runs without it, unless it has outlets to emit to."""
    fn = callable_from_source("""
        def emit(outlet_events, outlets):
            outlet_events[outlets[0]].extra["rows"] = 1
    """)
    out_spec = AssetSpec(name="s3://bucket/o", uri="s3://bucket/o")
    code, out, result = run(fn, tmp_path, context=task_context(outlets=[out_spec]))
    assert code == 0, out
    assert result.outlet_events == [OutletEvent(out_spec, {"rows": 1})]


def test_an_airflow_without_outlet_events_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow 2.9 has no ``OutletEventAccessors`` (nor aliases): its tasks run as natively there."""
    monkeypatch.setitem(sys.modules, "airflow.utils.context", types.ModuleType("airflow.utils.context"))
    info = _airflow2_assets(monkeypatch)
    entries = assets.context_entries(info, READS)
    assert "outlet_events" not in entries
    assert assets.recorded(info, entries) == []
    assert entries["triggering_dataset_events"]["s3://bucket/raw"][0].extra == {"n": 3}
