"""Golden fixtures: messages encoded by released schema versions must keep decoding, forever.

The bytes under ``golden/v<version>/`` were written once by ``golden/make_golden.py`` and are never
regenerated (their digests are pinned below). The expectations are written out by hand on purpose:
if a change to the codec alters what old bytes decode to, this test fails instead of following along.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math
import uuid
from pathlib import Path
from typing import Any, Dict
from zoneinfo import ZoneInfo

import pytest
from core_test_support import assert_same, zone_name

from airflow_isolation.core import (
    AliasEvent,
    AssetEvent,
    AssetSpec,
    CallableSpec,
    ConnectionSpec,
    DagRunTrigger,
    ErrorInfo,
    InletEvents,
    IsolationRequest,
    OperatorSpec,
    OutletEvent,
    Resumption,
    RunOptions,
    SchemaVersion,
    ShippedModule,
    Timings,
    VariableWrite,
    XComPush,
    decode_request,
    decode_result,
    decode_result_json,
)

V1_0 = Path(__file__).resolve().parent / "golden" / "v1.0"
UTC = dt.timezone.utc

PINNED_SHA256 = {
    "request_operator.msgpack": "f3c42c303948594a9682d4abfdebbc6956c9232d17a0b0cb9dcfb0799bb361a0",
    "request_callable.msgpack": "3a04368acaf9d198f309aaa915f7341c657258cb125d2ca67f3e19c7ff8226ec",
    "result_success.msgpack": "8d3be0674c899e8807f0e24aa794e291a42c05972e8f2acfa43338ac8a24491c",
    "result_failed.msgpack": "7ecebb3b68204e667bc7c8909ec38e7bd0d6ad72b33ad2772987199faabda19c",
    "result_success.json": "83fa6a9435294a7f1f63ad1389d8b914d2094e425d852db5c0ed3cf64b6a6ff4",
}


def _read(name: str) -> bytes:
    return (V1_0 / name).read_bytes()


@pytest.mark.parametrize("name", sorted(PINNED_SHA256))
def test_fixture_bytes_are_the_released_ones(name: str) -> None:
    assert hashlib.sha256(_read(name)).hexdigest() == PINNED_SHA256[name], (
        f"golden/v1.0/{name} changed. Fixtures of a released schema version must never be regenerated; "
        "restore it from git. A new schema version gets a new folder (see golden/README.md)."
    )


def test_every_fixture_is_checked() -> None:
    assert sorted(p.name for p in V1_0.iterdir()) == sorted(PINNED_SHA256)


def _expected_values() -> Dict[str, Any]:
    """What ``extension_values()`` of make_golden.py decodes to, written out independently."""
    return {
        "naive": dt.datetime(2024, 3, 30, 12, 0, 0, 123456),
        "utc": dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC),
        "paris": dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris")),
        "pendulum": dt.datetime(2024, 10, 27, 6, 30, tzinfo=UTC).astimezone(ZoneInfo("America/New_York")),
        "date": dt.date(2024, 2, 29),
        "time": dt.time(23, 59, 58, 1),
        "delta": dt.timedelta(days=-1, seconds=2, microseconds=3),
        "tuple": (1, ("nested", None), [(True,)]),
        "set": {"a", "b"},
        "frozenset": frozenset({1, 2}),
        "decimal": decimal.Decimal("12.340"),
        "uuid": uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
        "bytes": b"\x00\x01\xff",
        "int_max": 9223372036854775807,
        "int_min": -9223372036854775808,
        "float": 1.25,
        "nan": math.nan,
        "inf": -math.inf,
        "unicode": "h\u00e9llo \u2713 \u65e5\u672c \U0001f389",
        "nested": {"list": [{"t": (None, 1.5)}, []], "empty": {}},
    }


def _check_values(got: Dict[str, Any]) -> None:
    expected = _expected_values()
    pendulum_value = got.pop("pendulum")
    assert_same(got, {k: v for k, v in expected.items() if k != "pendulum"})
    # kind "pendulum": a pendulum DateTime where pendulum is installed, else a plain datetime
    try:
        import pendulum
    except ImportError:
        assert type(pendulum_value) is dt.datetime
    else:
        assert isinstance(pendulum_value, pendulum.DateTime)
        assert pendulum_value.timezone_name == "America/New_York"
    assert pendulum_value == expected["pendulum"]
    assert pendulum_value.isoformat() == "2024-10-27T02:30:00-04:00"
    assert zone_name(pendulum_value) == "America/New_York"
    assert got["paris"].isoformat() == "2024-03-30T12:00:00+01:00"
    assert got["paris"].tzinfo.key == "Europe/Paris"


def _check_context(req: IsolationRequest) -> None:
    ctx = req.context
    assert (ctx.dag_id, ctx.task_id, ctx.run_id) == (
        "golden_dag",
        "legacy_pandas",
        "scheduled__2024-03-30T11:00:00+00:00",
    )
    assert (ctx.try_number, ctx.max_tries, ctx.map_index) == (2, 3, -1)
    assert ctx.logical_date == dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC)
    assert ctx.data_interval_start == dt.datetime(2024, 3, 29, 11, 0, tzinfo=UTC)
    assert ctx.data_interval_end == dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC)
    assert ctx.start_date == dt.datetime(2024, 3, 30, 11, 0, 5, 250000, tzinfo=UTC)
    assert (ctx.ds, ctx.ds_nodash, ctx.ts, ctx.ts_nodash, ctx.ts_nodash_with_tz) == (
        "2024-03-30",
        "20240330",
        "2024-03-30T11:00:00+00:00",
        "20240330T110000",
        "20240330T110000+0000",
    )
    assert ctx.run_type == "scheduled"
    assert ctx.host_airflow_version == "3.1.0"
    assert_same(ctx.params, {"threshold": decimal.Decimal("0.5"), "window": (1, 7)})
    assert_same(ctx.dag_run_conf, {"full_refresh": True, "since": dt.date(2024, 1, 1)})
    assert_same(
        ctx.upstream_xcoms, {"extract": {"rows": 3, "at": dt.datetime(2024, 3, 30, 11, 1, tzinfo=UTC)}}
    )


def test_request_operator() -> None:
    req = decode_request(_read("request_operator.msgpack"))
    assert req.schema == SchemaVersion(1, 0)
    assert isinstance(req.task, OperatorSpec)
    assert req.task.class_path == "airflow.providers.standard.operators.python.PythonOperator"
    assert req.task.template_fields_rendered is True
    kwargs = dict(req.task.kwargs)
    assert list(kwargs) == ["task_id", "python_callable", "op_args", "op_kwargs", "retries"]
    assert kwargs["task_id"] == "legacy_pandas"
    assert kwargs["retries"] == 0
    assert kwargs["python_callable"] == CallableSpec(name="transform", import_path="dags.etl:transform")
    assert_same(kwargs["op_args"], [(1, "a"), ["list", None]])
    _check_values(kwargs["op_kwargs"])
    _check_context(req)
    assert req.connections == [
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
    assert req.variables == {"env": "prod", "api_key": "k3y"}
    assert req.secrets_to_mask == ["s3cret", "k3y"]
    assert req.options == RunOptions(skip_exit_code=99, log_level="INFO")


def test_request_operator_with_raising_hook() -> None:
    seen = []

    def raise_callable(spec: CallableSpec) -> str:
        seen.append(spec.import_path)
        return "the function"

    req = decode_request(_read("request_operator.msgpack"), callables=raise_callable)
    assert req.task.kwargs["python_callable"] == "the function"
    assert seen == ["dags.etl:transform"]


def test_request_callable() -> None:
    req = decode_request(_read("request_callable.msgpack"))
    assert req.schema == SchemaVersion(1, 0)
    task = req.task
    assert isinstance(task, CallableSpec)
    assert task.name == "transform"
    assert task.source == "def transform(day, window, **kwargs):\n    return {'day': day, 'window': window}\n"
    assert (task.import_path, task.pickled, task.multiple_outputs) == (None, None, True)
    assert_same(task.args, ["2024-03-30", (1, 7)])
    assert list(task.kwargs) == ["values", "on_row"]
    _check_values(task.kwargs["values"])
    on_row = task.kwargs["on_row"]
    assert isinstance(on_row, CallableSpec)
    assert (on_row.name, on_row.source, on_row.import_path) == ("clean", None, None)
    assert on_row.pickled == b"\x80\x05\x95fake-cloudpickle"
    assert_same(on_row.args, [(0,)])
    assert on_row.kwargs == {}
    _check_context(req)
    assert (req.connections, req.variables, req.secrets_to_mask) == ([], {}, [])
    assert req.options == RunOptions(skip_exit_code=42, log_level="DEBUG")


@pytest.mark.parametrize("name", ["result_success.msgpack", "result_success.json"])
def test_result_success(name: str) -> None:
    decode = decode_result_json if name.endswith(".json") else decode_result
    res = decode(_read(name))
    assert res.schema == SchemaVersion(1, 0)
    assert res.status == "success"
    _check_values(res.return_value)
    assert [p.key for p in res.xcom_pushes] == ["rows", "window"]
    assert_same(res.xcom_pushes[0].value, 3)
    assert_same(res.xcom_pushes[1].value, (dt.date(2024, 3, 29), dt.date(2024, 3, 30)))
    assert res.branch is None
    assert res.error is None
    assert res.timings == Timings(decode=0.001, setup=0.25, execute=1.5, total=1.875)
    assert (res.target_airflow_version, res.target_python_version) == ("2.10.5", "3.9.18")


def test_result_failed() -> None:
    res = decode_result(_read("result_failed.msgpack"))
    assert res.schema == SchemaVersion(1, 0)
    assert res.status == "failed"
    assert res.return_value is None
    assert res.xcom_pushes == [XComPush("partial", {"done": (1, 2)})]
    assert_same(res.xcom_pushes[0].value, {"done": (1, 2)})
    assert res.branch is None
    assert res.error == ErrorInfo(
        type="pandas.errors.EmptyDataError",
        message="No columns to parse from file \u2717",
        traceback='Traceback (most recent call last):\n  File "dags/etl.py", line 3, in transform\n'
        "pandas.errors.EmptyDataError: No columns to parse from file \u2717\n",
    )
    assert res.timings == Timings(decode=0.002, setup=0.5, execute=0.125, total=0.75)
    assert (res.target_airflow_version, res.target_python_version) == (None, "3.11.7")


# --- v1.1: the nonce, the write-back options and variable writes -------------------------------

V1_1 = V1_0.parent / "v1.1"
PINNED_SHA256_V1_1 = {
    "request_operator.msgpack": "17ce53260be2d509cc884a2903c763f82f258ba2de4c502fb419173e71624492",
    "request_callable.msgpack": "8302a9771be20d5324d2d0590ecceccfef57a1e4ee85e162807a33ac91b6b0e0",
    "result_success.msgpack": "02a518f6ebecb4fa366017841f986e61790b7e383182b9c123b1ae257c42a872",
    "result_failed.msgpack": "cb3a9428e891116cd9358c4f4cb6060c5306246ffa7f5eb9903505c6290fb2c7",
    "result_success.json": "557a1073d6f3f506fcabc8f436b36c1ef496725d2918fda8c456ee8428cab352",
}


@pytest.mark.parametrize("name", sorted(PINNED_SHA256_V1_1))
def test_v1_1_fixture_bytes_are_the_released_ones(name: str) -> None:
    assert hashlib.sha256((V1_1 / name).read_bytes()).hexdigest() == PINNED_SHA256_V1_1[name], (
        f"golden/v1.1/{name} changed; restore it from git (see golden/README.md)."
    )
    assert sorted(p.name for p in V1_1.iterdir()) == sorted(PINNED_SHA256_V1_1)


def test_v1_0_requests_get_the_v1_1_defaults() -> None:
    """A 1.0 host sent no nonce and knew nothing of write-back: XComs replayed, Variables refused."""
    req = decode_request(_read("request_operator.msgpack"))
    assert req.nonce == b""
    assert (req.options.xcom_write_back, req.options.variable_write_back) == (True, False)
    assert decode_result(_read("result_success.msgpack")).variable_writes == []


def test_v1_1_requests() -> None:
    op = decode_request((V1_1 / "request_operator.msgpack").read_bytes())
    assert op.schema == SchemaVersion(1, 1)
    assert op.nonce == bytes(range(32))
    assert op.options == RunOptions(skip_exit_code=99, log_level="INFO", variable_write_back=True)
    _check_context(op)
    assert isinstance(op.task, OperatorSpec)
    _check_values(op.task.kwargs["op_kwargs"])
    fn = decode_request((V1_1 / "request_callable.msgpack").read_bytes())
    assert fn.nonce == b""
    assert fn.options == RunOptions(skip_exit_code=42, log_level="DEBUG", xcom_write_back=False)


@pytest.mark.parametrize("name", ["result_success.msgpack", "result_success.json"])
def test_v1_1_result_variable_writes(name: str) -> None:
    decode = decode_result_json if name.endswith(".json") else decode_result
    res = decode((V1_1 / name).read_bytes())
    assert res.schema == SchemaVersion(1, 1)
    assert res.variable_writes == [
        VariableWrite("last_day", "2024-03-30", "set by legacy_pandas"),
        VariableWrite("n", "3", None),
    ]
    _check_values(res.return_value)


# --- v1.2: downstream ids, first reschedule date, skipped downstream tasks, reschedules ---------

V1_2 = V1_0.parent / "v1.2"
PINNED_SHA256_V1_2 = {
    "request_operator.msgpack": "1ca55bbe415799e96c98236e0780516465fb7b5a7f3e61002d283d64340ab3f9",
    "request_callable.msgpack": "f6fbe53542da7d0869ccb9e73a5c531b36144292d722f916978407322b7a3f78",
    "result_success.msgpack": "b73eb7785bef330a8563fc2cb953328b737073b9a8486fd7d7be623de947f69d",
    "result_failed.msgpack": "16f04721fc58ec25153ea13fbb154cbf2c81067f699eb616974052f23ee1efb7",
    "result_success.json": "5190cdf077890bd37752c7db3ffed82e9ba642aec91fc6d4c0e96aeb22f69c7e",
    "result_rescheduled.msgpack": "52ea49ac4a98fe01f1c06af4bfa4c6306c12a354a33d09d5642f812640d3abe2",
    "result_rescheduled.json": "1709c93094b50cb3f46978dda53b2f1716a7c0dfc55b29fbb45874022c44d088",
}


@pytest.mark.parametrize("name", sorted(PINNED_SHA256_V1_2))
def test_v1_2_fixture_bytes_are_the_released_ones(name: str) -> None:
    assert hashlib.sha256((V1_2 / name).read_bytes()).hexdigest() == PINNED_SHA256_V1_2[name], (
        f"golden/v1.2/{name} changed; restore it from git (see golden/README.md)."
    )
    assert sorted(p.name for p in V1_2.iterdir()) == sorted(PINNED_SHA256_V1_2)


def test_v1_1_messages_get_the_v1_2_defaults() -> None:
    """A 1.1 host shipped no downstream ids; a 1.1 runtime reported no skips or reschedules."""
    ctx = decode_request((V1_1 / "request_operator.msgpack").read_bytes()).context
    assert ctx.downstream_task_ids == ctx.flat_downstream_task_ids == ctx.downstream_teardown_ids == []
    assert ctx.first_reschedule_date is None and ctx.run_after is None
    res = decode_result((V1_1 / "result_success.msgpack").read_bytes())
    assert (res.skip_downstream, res.reschedule_date) == (None, None)


def test_v1_2_request_downstream() -> None:
    op = decode_request((V1_2 / "request_operator.msgpack").read_bytes())
    assert op.schema == SchemaVersion(1, 2)
    _check_context(op)
    assert op.context.downstream_task_ids == ["load"]
    assert op.context.flat_downstream_task_ids == ["load", "report", "cleanup"]
    assert op.context.downstream_teardown_ids == ["cleanup"]
    assert op.context.first_reschedule_date == dt.datetime(2024, 3, 30, 11, 0, 1, tzinfo=UTC)
    assert op.context.run_after == dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", ["result_success.msgpack", "result_success.json"])
def test_v1_2_result_skip_downstream(name: str) -> None:
    decode = decode_result_json if name.endswith(".json") else decode_result
    res = decode((V1_2 / name).read_bytes())
    assert res.schema == SchemaVersion(1, 2)
    assert res.skip_downstream == ["report", "load"]
    assert res.reschedule_date is None
    _check_values(res.return_value)


@pytest.mark.parametrize("name", ["result_rescheduled.msgpack", "result_rescheduled.json"])
def test_v1_2_result_rescheduled(name: str) -> None:
    decode = decode_result_json if name.endswith(".json") else decode_result
    res = decode((V1_2 / name).read_bytes())
    assert res.status == "failed"
    assert res.error == ErrorInfo(
        type="airflow.exceptions.AirflowRescheduleException", message="Task is rescheduled", traceback=""
    )
    assert res.reschedule_date == dt.datetime(2024, 3, 30, 11, 5, tzinfo=UTC)


# --- v1.3: the task's own modules, shipped from the DAGs and plugins folders --------------------

V1_3 = V1_0.parent / "v1.3"
PINNED_SHA256_V1_3 = {
    "request_operator.msgpack": "a5b5a92a430d4946d335fdc28091e6642e0355103e0c5b8ccfb872a773d41781",
    "request_callable.msgpack": "833aa1a5ba688912a2369b3512603d59eba8cac4fc07541f41813866e7eb4c3b",
    "result_success.msgpack": "9b380fb0d129a54471bd26d02ef20566a7feb4d2839851d7102576bf3b8639ab",
    "result_failed.msgpack": "8e90d2c2be84c0b684eeabe78237e858a44ec68b80947f6148ad5f53027d7bf7",
    "result_success.json": "668136fd5d4db2a1041feb53bf52b667b61611c73f7219ed78ad83d1cd64a9ac",
    "result_rescheduled.msgpack": "f4a25f7085e80885a03f12b24169e39dde15262a3fc5d6c026d100b4af1bfc49",
    "result_rescheduled.json": "095362fd041bcbbdbe75926d092068724b1af15c3bd1fdd135c75e60beaa594d",
}


@pytest.mark.parametrize("name", sorted(PINNED_SHA256_V1_3))
def test_v1_3_fixture_bytes_are_the_released_ones(name: str) -> None:
    assert hashlib.sha256((V1_3 / name).read_bytes()).hexdigest() == PINNED_SHA256_V1_3[name], (
        f"golden/v1.3/{name} changed; restore it from git (see golden/README.md)."
    )
    assert sorted(p.name for p in V1_3.iterdir()) == sorted(PINNED_SHA256_V1_3)


def test_v1_2_requests_ship_no_modules() -> None:
    for name in ("request_operator.msgpack", "request_callable.msgpack"):
        assert decode_request((V1_2 / name).read_bytes()).modules == []


def test_v1_3_request_modules() -> None:
    op = decode_request((V1_3 / "request_operator.msgpack").read_bytes())
    assert op.schema == SchemaVersion(1, 3)
    _check_context(op)
    assert op.modules == [
        ShippedModule("my_ops.py", b"from helpers.fmt import shout\n\nclass MyOperator:\n    pass\n", "dags"),
        ShippedModule("helpers/__init__.py", b"", "dags"),
        ShippedModule("helpers/fmt.py", "def shout(s):\n    return s.upper() + ' ✓'\n".encode(), "dags"),
        ShippedModule("plugin_utils.py", b"TOKEN = 1\n", "plugins"),
    ]
    assert decode_request((V1_3 / "request_callable.msgpack").read_bytes()).modules == []


# --- v1.4: the task's assets and the wrapped operator's OpenLineage lineage ---------------------

V1_4 = V1_0.parent / "v1.4"
PINNED_SHA256_V1_4 = {
    "request_operator.msgpack": "b622f172530041c0fa7debf40f8d9d782b8afea104c0b605b7e8348b392dd23a",
    "request_callable.msgpack": "a8b340bb3ca21d582c3b89ccc637ab23c27bb3d4954516a3aadd816595cfe09a",
    "result_success.msgpack": "d562b999068c09173304585fec602d2325c1252116942fe9cd45b212c6f5fe85",
    "result_failed.msgpack": "e3f260252f177bd9546b527f3abdebbb7ecfe82b49a047432b161ff12b9ce218",
    "result_success.json": "971c686af2ef5977c7b4816486f044adbce9dddeab7a74a10cdaa52a53207194",
    "result_rescheduled.msgpack": "eb542d7ee642ba2234e73e5f6607f16c4c6bfbd2c01ffec5f9c76346c23207a7",
    "result_rescheduled.json": "45f15f83eb283ff990dda50f1558ab4620c1c5d248a39ae04501952d03f746e7",
}
RAW = AssetSpec(name="raw", uri="s3://bucket/raw", group="asset", extra={"owner": "ingest"})
RAW_FILES = AssetSpec(name="raw_files", alias=True)
CLEAN = AssetSpec(name="s3://bucket/clean", uri="s3://bucket/clean")
RAW_EVENT = AssetEvent(
    asset=RAW,
    extra={"rows": 3, "at": "2024-03-30"},
    timestamp=dt.datetime(2024, 3, 30, 10, 59, tzinfo=UTC),
    source_dag_id="ingest",
    source_task_id="load",
    source_run_id="scheduled__2024-03-30T10:00:00+00:00",
    source_map_index=-1,
    source_aliases=["raw_files"],
)


@pytest.mark.parametrize("name", sorted(PINNED_SHA256_V1_4))
def test_v1_4_fixture_bytes_are_the_released_ones(name: str) -> None:
    assert hashlib.sha256((V1_4 / name).read_bytes()).hexdigest() == PINNED_SHA256_V1_4[name], (
        f"golden/v1.4/{name} changed; restore it from git (see golden/README.md)."
    )
    assert sorted(p.name for p in V1_4.iterdir()) == sorted(PINNED_SHA256_V1_4)


def test_v1_4_request_asks_for_lineage() -> None:
    assert decode_request((V1_4 / "request_operator.msgpack").read_bytes()).options.openlineage is True
    assert decode_request((V1_4 / "request_callable.msgpack").read_bytes()).options.openlineage is False
    assert decode_request((V1_3 / "request_operator.msgpack").read_bytes()).options.openlineage is False


def test_v1_3_results_carry_no_lineage() -> None:
    for name in ("result_success.msgpack", "result_failed.msgpack", "result_rescheduled.msgpack"):
        assert decode_result((V1_3 / name).read_bytes()).openlineage is None


@pytest.mark.parametrize("name", ["result_success.msgpack", "result_success.json"])
def test_v1_4_result_openlineage(name: str) -> None:
    decode = decode_result_json if name.endswith(".json") else decode_result
    res = decode((V1_4 / name).read_bytes())
    assert res.schema == SchemaVersion(1, 4)
    assert res.skip_downstream == ["report", "load"]
    _check_values(res.return_value)
    assert res.openlineage is not None and res.openlineage.lineage is not None
    lineage = res.openlineage.lineage
    provider = "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3"
    assert lineage.method == "get_openlineage_facets_on_complete"
    assert lineage.inputs == [
        {
            "namespace": "postgres://db:5432",
            "name": "public.orders",
            "facets": {
                "schema": {
                    "_producer": provider,
                    "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json"
                    "#/$defs/SchemaDatasetFacet",
                    "fields": [{"name": "id", "type": "INTEGER"}, {"name": "amount", "type": "DECIMAL"}],
                }
            },
            "inputFacets": {},
        }
    ]
    assert lineage.outputs == [{"namespace": "file", "name": "/data/totals.csv", "facets": {}}]
    assert lineage.run_facets == {
        "partition": {
            "_producer": "https://example.com/producer",
            "_schemaURL": "https://example.com/PartitionRunFacet.json#/$defs/PartitionRunFacet",
            "partition": "2024-03-30",
            "rows": 3,
            "ratio": 0.5,
            "complete": True,
        }
    }
    assert lineage.job_facets == {
        "sql": {
            "_producer": provider,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
            "query": "INSERT INTO totals SELECT sum(amount) FROM orders ✓",
        }
    }


def test_v1_4_failed_result_with_no_lineage_returned() -> None:
    res = decode_result((V1_4 / "result_failed.msgpack").read_bytes())
    assert res.status == "failed"
    assert res.openlineage is not None and res.openlineage.lineage is None


def test_v1_3_messages_carry_no_assets() -> None:
    ctx = decode_request((V1_3 / "request_operator.msgpack").read_bytes()).context
    assert (ctx.inlets, ctx.outlets, ctx.inlet_events, ctx.triggering_asset_events) == ([], [], [], [])
    assert decode_result((V1_3 / "result_success.msgpack").read_bytes()).outlet_events == []


@pytest.mark.parametrize("name", ["request_operator.msgpack", "request_callable.msgpack"])
def test_v1_4_request_assets(name: str) -> None:
    req = decode_request((V1_4 / name).read_bytes())
    assert req.schema == SchemaVersion(1, 4)
    _check_context(req)
    ctx = req.context
    assert ctx.inlets == [RAW, RAW_FILES]
    assert ctx.outlets == [CLEAN]
    assert ctx.inlet_events == [InletEvents(RAW, [RAW_EVENT]), InletEvents(RAW_FILES, [])]
    assert ctx.triggering_asset_events == [RAW_EVENT]


@pytest.mark.parametrize("name", ["result_success.msgpack", "result_success.json"])
def test_v1_4_result_outlet_events(name: str) -> None:
    decode = decode_result_json if name.endswith(".json") else decode_result
    res = decode((V1_4 / name).read_bytes())
    assert res.schema == SchemaVersion(1, 4)
    assert res.outlet_events == [
        OutletEvent(CLEAN, extra={"rows": 3}),
        OutletEvent(
            AssetSpec(name="cleaned", alias=True),
            alias_events=[AliasEvent(AssetSpec(name="day", uri="s3://bucket/day"), {"day": "2024-03-30"})],
        ),
        OutletEvent(RAW, partition_keys=["2024-03-30"]),
    ]
    _check_values(res.return_value)


# --- v1.5: a resumption of the wrapped operator, and a dag run for the host to trigger -----------

V1_5 = V1_0.parent / "v1.5"
PINNED_SHA256_V1_5 = {
    "request_callable.msgpack": "a58dda74178d6e6429ef052059d6340512d9b56f74919045656fff3a9eff9d60",
    "request_operator.msgpack": "951b4da897a6f141fac248d7bfff2138e83585137508534b6ac0506384111a89",
    "result_dag_run_trigger.json": "ddf2ba43c1040960fd1e4fed070c3432fdf0a7da81fab42c2e15b57645614305",
    "result_dag_run_trigger.msgpack": "efcdb3e500770df26831ecea010df4cfa106ba78d8a538f71bce1cd6047b96c5",
    "result_failed.msgpack": "6af8d48c79989eb96ce7a9dc92c3ffc805d283e27e972a9383e212a37872fb47",
    "result_rescheduled.json": "dc30ae62b09c0d026731c4758bdaac2a025e853c427d5e48d06c5130b8f04190",
    "result_rescheduled.msgpack": "3af291878c2ed716c40f87ad795777bc3ecca0b85639ef8e464dea42665f909e",
    "result_success.json": "f1e7f601ae3100d6c9e224605419fe394f0178f092f176733b5d3321152fa8af",
    "result_success.msgpack": "0c9c76388b19db58a982cda4a45b8a1293f519e9e87e4d4cf987dd0bf8be107b",
}
RUN_ID = "manual__2024-03-30T11:00:00+00:00"


@pytest.mark.parametrize("name", sorted(PINNED_SHA256_V1_5))
def test_v1_5_fixture_bytes_are_the_released_ones(name: str) -> None:
    assert hashlib.sha256((V1_5 / name).read_bytes()).hexdigest() == PINNED_SHA256_V1_5[name], (
        f"golden/v1.5/{name} changed; restore it from git (see golden/README.md)."
    )
    assert sorted(p.name for p in V1_5.iterdir()) == sorted(PINNED_SHA256_V1_5)


def test_v1_4_messages_carry_no_resumption_and_no_dag_run() -> None:
    assert decode_request((V1_4 / "request_operator.msgpack").read_bytes()).resumption is None
    assert decode_result((V1_4 / "result_success.msgpack").read_bytes()).dag_run_trigger is None


def test_v1_5_request_resumption() -> None:
    req = decode_request((V1_5 / "request_operator.msgpack").read_bytes())
    assert req.schema == SchemaVersion(1, 5)
    _check_context(req)
    assert req.resumption is not None
    assert req.resumption.method == "execute_complete"
    event = req.resumption.kwargs["event"]
    assert (
        isinstance(event, tuple)
        and event[0] == "airflow.providers.standard.triggers.external_task.DagStateTrigger"
    )
    assert event[1] == {
        "dag_id": "downstream",
        "run_ids": [RUN_ID],
        RUN_ID: "success",
        "execution_dates": [dt.datetime(2024, 3, 30, 11, tzinfo=UTC)],
        "poll_interval": 5.0,
    }
    assert zone_name(event[1]["execution_dates"][0]) == "UTC"
    assert req.options.host_channel is True
    callable_request = decode_request((V1_5 / "request_callable.msgpack").read_bytes())
    assert callable_request.resumption is None and callable_request.options.host_channel is False
    assert decode_request((V1_4 / "request_operator.msgpack").read_bytes()).options.host_channel is False
    assert isinstance(Resumption("m").kwargs, dict)


@pytest.mark.parametrize("name", ["result_dag_run_trigger.msgpack", "result_dag_run_trigger.json"])
def test_v1_5_result_dag_run_trigger(name: str) -> None:
    decode = decode_result_json if name.endswith(".json") else decode_result
    res = decode((V1_5 / name).read_bytes())
    assert res.schema == SchemaVersion(1, 5)
    assert res.status == "success"
    assert res.xcom_pushes == [XComPush("asked", "downstream")]
    assert res.dag_run_trigger == DagRunTrigger(
        trigger_dag_id="downstream",
        dag_run_id=RUN_ID,
        conf={"day": dt.date(2024, 3, 30), "window": (1, 7), "full": True},
        logical_date=dt.datetime(2024, 3, 30, 11, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        run_after_date=dt.datetime(2024, 3, 30, 11, tzinfo=UTC),
        reset_dag_run=True,
        skip_when_already_exists=False,
        wait_for_completion=True,
        allowed_states=["success"],
        failed_states=["failed"],
        poke_interval=5.0,
        deferrable=True,
        note="asked by upstream ✓",
    )
    assert isinstance(res.dag_run_trigger.conf["window"], tuple)
