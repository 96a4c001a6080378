"""Write the golden encoded fixtures of the *current* wire schema version, once.

    python packages/isolation-core/tests/golden/make_golden.py

Run it only when a new schema version (minor or major) is introduced: it writes a new
``v<major>.<minor>/`` folder next to this script and refuses to touch an existing one. Fixtures of a
released version are never regenerated: ``test_golden.py`` decodes those exact bytes forever, with
expectations written by hand, so that a change that breaks old messages cannot go unnoticed. After
writing a new folder, add hand-written expectations for it to ``test_golden.py``.

Every extension type appears in the fixtures: datetime (naive, UTC, zoneinfo, pendulum), date, time,
timedelta, tuple, set, frozenset, Decimal, callable (in requests), bytes, UUID, and non-finite floats
(the JSON carrier's own extension).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import pendulum

from airflow_isolation.core import (
    SCHEMA_VERSION,
    AliasEvent,
    AssetEvent,
    AssetSpec,
    CallableSpec,
    ConnectionSpec,
    DagRunTrigger,
    ErrorInfo,
    InletEvents,
    IsolationRequest,
    IsolationResult,
    OpenLineageFacets,
    OpenLineageReport,
    OperatorSpec,
    OutletEvent,
    Resumption,
    RunOptions,
    ShippedModule,
    TaskContext,
    Timings,
    VariableWrite,
    XComPush,
    encode,
    encode_json,
)

UTC = dt.timezone.utc
PARIS = ZoneInfo("Europe/Paris")
RUN_UUID = uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")


def extension_values() -> Dict[str, Any]:
    """One value of each extension type (and the JSON-native ones around them)."""
    return {
        "naive": dt.datetime(2024, 3, 30, 12, 0, 0, 123456),
        "utc": dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC),
        "paris": dt.datetime(2024, 3, 30, 12, 0, tzinfo=PARIS),
        "pendulum": pendulum.datetime(2024, 10, 27, 2, 30, tz="America/New_York"),
        "date": dt.date(2024, 2, 29),
        "time": dt.time(23, 59, 58, 1),
        "delta": dt.timedelta(days=-1, seconds=2, microseconds=3),
        "tuple": (1, ("nested", None), [(True,)]),
        "set": {"b", "a"},
        "frozenset": frozenset({1, 2}),
        "decimal": decimal.Decimal("12.340"),
        "uuid": RUN_UUID,
        "bytes": b"\x00\x01\xff",
        "int_max": 2**63 - 1,
        "int_min": -(2**63),
        "float": 1.25,
        "nan": math.nan,
        "inf": -math.inf,
        "unicode": "héllo ✓ 日本 🎉",
        "nested": {"list": [{"t": (None, 1.5)}, []], "empty": {}},
    }


def context() -> TaskContext:
    return TaskContext(
        dag_id="golden_dag",
        task_id="legacy_pandas",
        run_id="scheduled__2024-03-30T11:00:00+00:00",
        try_number=2,
        max_tries=3,
        map_index=-1,
        logical_date=dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC),
        data_interval_start=dt.datetime(2024, 3, 29, 11, 0, tzinfo=UTC),
        data_interval_end=dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC),
        start_date=dt.datetime(2024, 3, 30, 11, 0, 5, 250000, tzinfo=UTC),
        ds="2024-03-30",
        ds_nodash="20240330",
        ts="2024-03-30T11:00:00+00:00",
        ts_nodash="20240330T110000",
        ts_nodash_with_tz="20240330T110000+0000",
        run_type="scheduled",
        params={"threshold": decimal.Decimal("0.5"), "window": (1, 7)},
        dag_run_conf={"full_refresh": True, "since": dt.date(2024, 1, 1)},
        upstream_xcoms={"extract": {"rows": 3, "at": dt.datetime(2024, 3, 30, 11, 1, tzinfo=UTC)}},
        host_airflow_version="3.1.0",
        downstream_task_ids=["load"],
        flat_downstream_task_ids=["load", "report", "cleanup"],
        downstream_teardown_ids=["cleanup"],
        first_reschedule_date=dt.datetime(2024, 3, 30, 11, 0, 1, tzinfo=UTC),
        run_after=dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC),
        inlets=[RAW, AssetSpec(name="raw_files", alias=True)],
        outlets=[CLEAN],
        inlet_events=[InletEvents(RAW, [raw_event()]), InletEvents(AssetSpec(name="raw_files", alias=True))],
        triggering_asset_events=[raw_event()],
    )


RAW = AssetSpec(name="raw", uri="s3://bucket/raw", group="asset", extra={"owner": "ingest"})
CLEAN = AssetSpec(name="s3://bucket/clean", uri="s3://bucket/clean")


def raw_event() -> AssetEvent:
    return AssetEvent(
        asset=RAW,
        extra={"rows": 3, "at": "2024-03-30"},
        timestamp=dt.datetime(2024, 3, 30, 10, 59, tzinfo=UTC),
        source_dag_id="ingest",
        source_task_id="load",
        source_run_id="scheduled__2024-03-30T10:00:00+00:00",
        source_map_index=-1,
        source_aliases=["raw_files"],
        partition_key=None,
    )


def outlet_events() -> List[OutletEvent]:
    return [
        OutletEvent(CLEAN, extra={"rows": 3}),
        OutletEvent(
            AssetSpec(name="cleaned", alias=True),
            alias_events=[AliasEvent(AssetSpec(name="day", uri="s3://bucket/day"), {"day": "2024-03-30"})],
        ),
        OutletEvent(RAW, partition_keys=["2024-03-30"]),
    ]


def connections() -> List[ConnectionSpec]:
    return [
        ConnectionSpec(
            conn_id="warehouse",
            conn_type="postgres",
            description="the warehouse",
            host="db.example.com",
            login="etl",
            password="s3cret",
            schema="public",
            port=5432,
            extra='{"sslmode": "require"}',
        ),
        ConnectionSpec(conn_id="bare"),
    ]


def shipped_modules() -> List[ShippedModule]:
    return [
        ShippedModule(
            path="my_ops.py",
            source=b"from helpers.fmt import shout\n\nclass MyOperator:\n    pass\n",
            root="dags",
        ),
        ShippedModule(path="helpers/__init__.py", source=b"", root="dags"),
        ShippedModule(path="helpers/fmt.py", source="def shout(s):\n    return s.upper() + ' ✓'\n".encode()),
        ShippedModule(path="plugin_utils.py", source=b"TOKEN = 1\n", root="plugins"),
    ]


def request_operator() -> IsolationRequest:
    return IsolationRequest(
        schema=SCHEMA_VERSION,
        task=OperatorSpec(
            class_path="airflow.providers.standard.operators.python.PythonOperator",
            kwargs={
                "task_id": "legacy_pandas",
                "python_callable": CallableSpec(name="transform", import_path="dags.etl:transform"),
                "op_args": [(1, "a"), ["list", None]],
                "op_kwargs": extension_values(),
                "retries": 0,
            },
            template_fields_rendered=True,
        ),
        context=context(),
        connections=connections(),
        variables={"env": "prod", "api_key": "k3y"},
        secrets_to_mask=["s3cret", "k3y"],
        options=RunOptions(
            skip_exit_code=99, log_level="INFO", variable_write_back=True, openlineage=True, host_channel=True
        ),
        nonce=bytes(range(32)),
        modules=shipped_modules(),
        resumption=resumption(),
    )


def resumption() -> Resumption:
    """``TriggerDagRunOperator.execute_complete`` after the host's triggerer ran its DagStateTrigger."""
    return Resumption(
        method="execute_complete",
        kwargs={
            "event": (
                "airflow.providers.standard.triggers.external_task.DagStateTrigger",
                {
                    "dag_id": "downstream",
                    "run_ids": ["manual__2024-03-30T11:00:00+00:00"],
                    "manual__2024-03-30T11:00:00+00:00": "success",
                    "execution_dates": [pendulum.datetime(2024, 3, 30, 11, tz="UTC")],
                    "poll_interval": 5.0,
                },
            )
        },
    )


def request_callable() -> IsolationRequest:
    return IsolationRequest(
        schema=SCHEMA_VERSION,
        task=CallableSpec(
            name="transform",
            source="def transform(day, window, **kwargs):\n    return {'day': day, 'window': window}\n",
            args=["2024-03-30", (1, 7)],
            kwargs={
                "values": extension_values(),
                "on_row": CallableSpec(name="clean", pickled=b"\x80\x05\x95fake-cloudpickle", args=[(0,)]),
            },
            multiple_outputs=True,
        ),
        context=context(),
        connections=[],
        variables={},
        secrets_to_mask=[],
        options=RunOptions(skip_exit_code=42, log_level="DEBUG", xcom_write_back=False),
    )


def openlineage() -> OpenLineageReport:
    """An operator's lineage as the OpenLineage client serialises it, with a facet no host knows."""
    return OpenLineageReport(
        lineage=OpenLineageFacets(
            method="get_openlineage_facets_on_complete",
            inputs=[
                {
                    "namespace": "postgres://db:5432",
                    "name": "public.orders",
                    "facets": {
                        "schema": {
                            "_producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3",
                            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json"
                            "#/$defs/SchemaDatasetFacet",
                            "fields": [
                                {"name": "id", "type": "INTEGER"},
                                {"name": "amount", "type": "DECIMAL"},
                            ],
                        }
                    },
                    "inputFacets": {},
                }
            ],
            outputs=[{"namespace": "file", "name": "/data/totals.csv", "facets": {}}],
            run_facets={
                "partition": {
                    "_producer": "https://example.com/producer",
                    "_schemaURL": "https://example.com/PartitionRunFacet.json#/$defs/PartitionRunFacet",
                    "partition": "2024-03-30",
                    "rows": 3,
                    "ratio": 0.5,
                    "complete": True,
                }
            },
            job_facets={
                "sql": {
                    "_producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
                    "query": "INSERT INTO totals SELECT sum(amount) FROM orders ✓",
                }
            },
        )
    )


def result_success() -> IsolationResult:
    return IsolationResult(
        schema=SCHEMA_VERSION,
        status="success",
        return_value=extension_values(),
        xcom_pushes=[XComPush("rows", 3), XComPush("window", (dt.date(2024, 3, 29), dt.date(2024, 3, 30)))],
        branch=None,
        error=None,
        timings=Timings(decode=0.001, setup=0.25, execute=1.5, total=1.875),
        target_airflow_version="2.10.5",
        target_python_version="3.9.18",
        variable_writes=[
            VariableWrite("last_day", "2024-03-30", "set by legacy_pandas"),
            VariableWrite("n", "3"),
        ],
        skip_downstream=["report", "load"],
        openlineage=openlineage(),
        outlet_events=outlet_events(),
    )


def result_failed() -> IsolationResult:
    return IsolationResult(
        schema=SCHEMA_VERSION,
        status="failed",
        return_value=None,
        xcom_pushes=[XComPush("partial", {"done": (1, 2)})],
        branch=None,
        error=ErrorInfo(
            type="pandas.errors.EmptyDataError",
            message="No columns to parse from file ✗",
            traceback='Traceback (most recent call last):\n  File "dags/etl.py", line 3, in transform\n'
            "pandas.errors.EmptyDataError: No columns to parse from file ✗\n",
        ),
        timings=Timings(decode=0.002, setup=0.5, execute=0.125, total=0.75),
        target_airflow_version=None,
        target_python_version="3.11.7",
        openlineage=OpenLineageReport(),
    )


def result_rescheduled() -> IsolationResult:
    return IsolationResult(
        schema=SCHEMA_VERSION,
        status="failed",
        error=ErrorInfo(
            type="airflow.exceptions.AirflowRescheduleException",
            message="Task is rescheduled",
            traceback="",
        ),
        target_airflow_version="3.1.8",
        target_python_version="3.11.7",
        reschedule_date=dt.datetime(2024, 3, 30, 11, 5, tzinfo=UTC),
    )


def result_dag_run_trigger() -> IsolationResult:
    """A ``TriggerDagRunOperator`` asking the host's Airflow for a dag run, after pushing an XCom."""
    return IsolationResult(
        schema=SCHEMA_VERSION,
        status="success",
        xcom_pushes=[XComPush("asked", "downstream")],
        target_airflow_version="3.1.8",
        target_python_version="3.11.7",
        dag_run_trigger=DagRunTrigger(
            trigger_dag_id="downstream",
            dag_run_id="manual__2024-03-30T11:00:00+00:00",
            conf={"day": dt.date(2024, 3, 30), "window": (1, 7), "full": True},
            logical_date=pendulum.datetime(2024, 3, 30, 11, tz="Europe/Paris"),
            run_after_date=dt.datetime(2024, 3, 30, 11, tzinfo=UTC),
            reset_dag_run=True,
            skip_when_already_exists=False,
            wait_for_completion=True,
            allowed_states=["success"],
            failed_states=["failed"],
            poke_interval=5.0,
            deferrable=True,
            note="asked by upstream ✓",
        ),
    )


def main() -> int:
    folder = Path(__file__).resolve().parent / f"v{SCHEMA_VERSION}"
    if folder.exists():
        print(
            f"{folder} already exists: fixtures of a released schema version are never regenerated. "
            "Bump SCHEMA_VERSION in airflow_isolation/core/schema.py for a new folder.",
            file=sys.stderr,
        )
        return 1
    folder.mkdir()
    files = {
        "request_operator.msgpack": encode(request_operator()),
        "request_callable.msgpack": encode(request_callable()),
        "result_success.msgpack": encode(result_success()),
        "result_failed.msgpack": encode(result_failed()),
        "result_success.json": encode_json(result_success()),
        "result_rescheduled.msgpack": encode(result_rescheduled()),
        "result_rescheduled.json": encode_json(result_rescheduled()),
        "result_dag_run_trigger.msgpack": encode(result_dag_run_trigger()),
        "result_dag_run_trigger.json": encode_json(result_dag_run_trigger()),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
        print(f"wrote {folder / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
