#!/usr/bin/env python
"""What does carrying a 10 MiB request or result cost? The wire codec against the usual alternatives.

The same message, an ``IsolationRequest`` whose callable gets ~10 MiB of keyword arguments and an
``IsolationResult`` returning them, is encoded and decoded back to equal Python values by:

* ``msgspec msgpack``: ``airflow_isolation.core.encode`` / ``decode_request`` / ``decode_result``,
  the codec the venv and docker backends use (datetimes, tuples, bytes… as explicit extensions).
* ``msgspec msgpack, no value walk``: ``msgspec.msgpack.encode`` of the message as is, without
  the codec's extension walk (``values.Lowerer``/``Raiser``). Lossy (tuples come back as lists,
  zone names are lost) so not a usable codec: it shows what the walk costs on top of msgspec.
* ``msgspec JSON``: ``encode_json`` / ``decode_*_json``, what the Kubernetes backend's result uses
  (the KubernetesPodOperator's xcom sidecar only carries JSON).
* ``json + hooks``: the standard library, with a ``default=`` hook and an ``object_hook`` that tag
  and restore datetimes, bytes and the schema's structs: what a JSON-only design (Airflow's XCom
  JSON encoding) needs to round-trip the same values.
* ``pickle 5``: ``pickle.dumps(message, protocol=5)`` / ``pickle.loads``, the approach of
  ExternalPythonOperator and ``@task.docker`` (not safe across versions or trust boundaries, but
  the speed reference).
* ``airflow serde``: ``airflow.sdk.serde`` (Airflow 3) or ``airflow.serialization.serde``
  (Airflow 2) + ``json``, on the value only, when the host has it; it cannot carry ``bytes``.

Two payloads, each at ~10 MiB on the msgpack wire: ``records`` (a list of dicts of ints, strings,
floats, booleans, lists and zoned datetimes, what an ETL step hands on) and ``bytes`` (one 10 MiB
``bytes`` value). Every approach's decoded value is checked equal to the original once before
timing; an approach that cannot carry a payload is reported as such, not timed.

Method, as for overhead.py: interleaved rounds with a rotating start (a noisy minute must not land
on one approach), median and min. Time and memory are measured in separate runs: ``tracemalloc``
slows allocation-heavy code, so the peak (above the payload already in memory, over encode +
decode) comes from its own interleaved runs. Ratios are against msgspec msgpack. Nothing asserted.

Run: ``python benchmarks/codec.py [--rounds 5] [--size-mib 10]`` (needs only airflow-isolation-core;
Airflow is optional, for the serde row). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import gc
import importlib
import json
import os
import pickle
import statistics
import sys
import time
import tracemalloc
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import msgspec
from bench_context import fixed_context

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    IsolationRequest,
    IsolationResult,
    decode_request,
    decode_request_json,
    decode_result,
    decode_result_json,
    encode,
    encode_json,
)
from airflow_isolation.core import schema as schema_module

MIB = 1024 * 1024
Message = Any  # IsolationRequest | IsolationResult


# --------------------------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------------------------


def record(index: int) -> Dict[str, Any]:
    """One row of a realistic ETL hand-off; every value type differs from its neighbour's."""
    created = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=index * 37)
    return {
        "id": index,
        "customer": f"customer-{index:08d}",
        "email": f"user{index}@example.com",
        "country": ("DE", "FR", "US", "JP", "BR")[index % 5],
        "amount": round(index * 1.37 % 1000, 2),
        "score": index / 7.0,
        "active": index % 3 != 0,
        "tags": ["new", "priority"] if index % 2 else ["returning"],
        "created_at": created,
        "updated_at": created + dt.timedelta(hours=1),
    }


def records_of_size(target_bytes: int) -> List[Dict[str, Any]]:
    """Enough rows that the msgpack-encoded request is about ``target_bytes``."""
    sample = [record(i) for i in range(2000)]
    per_row = len(encode(request_for({"rows": sample}))) / len(sample)
    return [record(i) for i in range(max(1, int(target_bytes / per_row)))]


def request_for(kwargs: Dict[str, Any]) -> IsolationRequest:
    return IsolationRequest(
        schema=SCHEMA_VERSION,
        task=CallableSpec(
            name="transform", source="def transform(**kwargs):\n    return kwargs\n", kwargs=kwargs
        ),
        context=fixed_context("codec_benchmark", "transform"),
    )


def result_for(value: Any) -> IsolationResult:
    return IsolationResult(schema=SCHEMA_VERSION, status="success", return_value=value)


def payload_of(message: Message) -> Any:
    return message.task.kwargs if isinstance(message, IsolationRequest) else message.return_value


@dataclasses.dataclass(frozen=True)
class Case:
    key: str
    label: str
    message: Message


def build_cases(size: int) -> List[Case]:
    rows = records_of_size(size)
    blob = os.urandom(size)
    return [
        Case("records/request", f"request, {len(rows):,} records in op_kwargs", request_for({"rows": rows})),
        Case("records/result", f"result, {len(rows):,} records returned", result_for(rows)),
        Case(
            "bytes/request", f"request, {size / MIB:.0f} MiB bytes in op_kwargs", request_for({"blob": blob})
        ),
        Case("bytes/result", f"result, {size / MIB:.0f} MiB bytes returned", result_for(blob)),
    ]


# --------------------------------------------------------------------------------------------
# Approaches
# --------------------------------------------------------------------------------------------

_STRUCTS = {
    name: obj
    for name, obj in vars(schema_module).items()
    if isinstance(obj, type) and issubclass(obj, msgspec.Struct)
}


def _json_default(value: Any) -> Any:
    """What a JSON-only carrier must tag to get the same types back (Airflow's XCom JSON does too)."""
    if isinstance(value, msgspec.Struct):
        fields = {name: getattr(value, name) for name in value.__struct_fields__}
        return {"__struct__": type(value).__name__, **fields}
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot encode {type(value).__name__}")


def _json_object_hook(value: Dict[str, Any]) -> Any:
    if "__struct__" in value:
        cls = _STRUCTS[value.pop("__struct__")]
        return cls(**value)
    if "__datetime__" in value:
        return dt.datetime.fromisoformat(value["__datetime__"])
    if "__bytes__" in value:
        return base64.b64decode(value["__bytes__"])
    return value


def _serde() -> Optional[Tuple[Callable[[Any], Any], Callable[[Any], Any]]]:
    for module_name in ("airflow.sdk.serde", "airflow.serialization.serde"):
        try:
            module = importlib.import_module(module_name)
        except Exception:
            continue
        if hasattr(module, "serialize") and hasattr(module, "deserialize"):
            return module.serialize, module.deserialize
    return None


@dataclasses.dataclass(frozen=True)
class Approach:
    key: str
    label: str
    encode: Callable[[Message], bytes]
    decode: Callable[[bytes, Message], Any]  # (data, original) -> a value comparable to the original
    value_only: bool = False  # compares the payload, not the whole message


def _same_kind_decoder(
    request_decoder: Callable[[bytes], Any], result_decoder: Callable[[bytes], Any]
) -> Callable[[bytes, Message], Any]:
    return lambda data, original: (
        request_decoder(data) if isinstance(original, IsolationRequest) else result_decoder(data)
    )


def approaches() -> List[Approach]:
    found = [
        Approach(
            "msgpack",
            "msgspec msgpack (core codec)",
            encode,
            _same_kind_decoder(decode_request, decode_result),
        ),
        Approach(
            "msgspec-raw",
            "msgspec msgpack, no value walk (lossy)",
            msgspec.msgpack.encode,
            _same_kind_decoder(
                lambda data: msgspec.msgpack.decode(data, type=IsolationRequest),
                lambda data: msgspec.msgpack.decode(data, type=IsolationResult),
            ),
        ),
        Approach(
            "msgspec-json",
            "msgspec JSON (core codec, k8s result)",
            encode_json,
            _same_kind_decoder(decode_request_json, decode_result_json),
        ),
        Approach(
            "json",
            "stdlib json + default/object_hook",
            lambda message: json.dumps(message, default=_json_default).encode("utf-8"),
            lambda data, _: json.loads(data, object_hook=_json_object_hook),
        ),
        Approach(
            "pickle",
            "pickle protocol 5",
            lambda message: pickle.dumps(message, protocol=5),
            lambda data, _: pickle.loads(data),
        ),
    ]
    serde = _serde()
    if serde is not None:
        serialize, deserialize = serde
        found.append(
            Approach(
                "serde",
                "airflow serde + json (value only)",
                lambda message: json.dumps(serialize(payload_of(message))).encode("utf-8"),
                lambda data, _: deserialize(json.loads(data)),
                value_only=True,
            )
        )
    return found


def check_round_trip(approach: Approach, case: Case) -> Tuple[Optional[str], int]:
    """(why it cannot carry the case, or None; the encoded size). Run once, untimed."""
    try:
        data = approach.encode(case.message)
        decoded = approach.decode(data, case.message)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}", 0
    got = decoded if approach.value_only else payload_of(decoded)
    if got != payload_of(case.message):
        return "decoded value differs from the original", len(data)
    return None, len(data)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Samples:
    size: int = 0
    skipped: Optional[str] = None
    encode: List[float] = dataclasses.field(default_factory=list)
    decode: List[float] = dataclasses.field(default_factory=list)
    peak: List[int] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> List[float]:
        return [e + d for e, d in zip(self.encode, self.decode)]


def time_once(approach: Approach, case: Case, samples: Samples) -> None:
    gc.collect()
    started = time.perf_counter()
    data = approach.encode(case.message)
    encoded = time.perf_counter()
    approach.decode(data, case.message)
    done = time.perf_counter()
    samples.encode.append(encoded - started)
    samples.decode.append(done - encoded)


def trace_once(approach: Approach, case: Case, samples: Samples) -> None:
    """Peak bytes allocated above what was live before, over encode + decode (both kept alive)."""
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        data = approach.encode(case.message)
        decoded = approach.decode(data, case.message)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del data, decoded
    samples.peak.append(peak - before)


def run(cases: List[Case], found: List[Approach], rounds: int) -> Dict[Tuple[str, str], Samples]:
    samples: Dict[Tuple[str, str], Samples] = {}
    jobs: List[Tuple[Callable[[Approach, Case, Samples], None], Approach, Case]] = []
    for case in cases:
        for approach in found:
            skipped, size = check_round_trip(approach, case)
            samples[case.key, approach.key] = Samples(size=size, skipped=skipped)
            if skipped is None:
                jobs += [(time_once, approach, case), (trace_once, approach, case)]
    for job, approach, case in jobs:  # warm-up, untimed
        job(approach, case, Samples())
    for number in range(rounds):
        shift = (number * 3) % len(jobs)
        for job, approach, case in jobs[shift:] + jobs[:shift]:
            job(approach, case, samples[case.key, approach.key])
        print(f"round {number + 1}/{rounds} done", file=sys.stderr, flush=True)
    return samples


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values) * 1000:,.1f}" if values else "-"


def _ratio(value: Optional[float], base: Optional[float]) -> str:
    return "-" if value is None or not base else f"{value / base:,.2f}x"


def _median(values: Sequence[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def report(cases: List[Case], found: List[Approach], samples: Dict[Tuple[str, str], Samples]) -> None:
    headers = ["approach", "size MiB", "encode ms", "decode ms", "total ms", "min", "peak MiB",
               "time vs msgpack", "peak vs msgpack"]  # fmt: skip
    for case in cases:
        base = samples[case.key, "msgpack"]
        base_total, base_peak = _median(base.total), _median([float(p) for p in base.peak])
        rows = []
        for approach in found:
            item = samples[case.key, approach.key]
            if item.skipped:
                rows.append([approach.label, f"cannot carry it: {item.skipped}"])
                continue
            total, peak = _median(item.total), _median([float(p) for p in item.peak])
            rows.append(
                [
                    approach.label,
                    f"{item.size / MIB:,.2f}",
                    _ms(item.encode),
                    _ms(item.decode),
                    _ms(item.total),
                    f"{min(item.total) * 1000:,.1f}" if item.total else "-",
                    "-" if peak is None else f"{peak / MIB:,.1f}",
                    _ratio(total, base_total),
                    _ratio(peak, base_peak),
                ]
            )
        print(f"[{case.key}] {case.label}: medians over {len(base.total)} interleaved rounds")
        print_table(headers, rows)


def print_table(headers: List[str], rows: List[List[str]]) -> None:
    full = [row for row in rows if len(row) == len(headers)]
    widths = [max(len(row[i]) for row in [headers, *full]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        if len(cells) != len(headers):
            return f"{cells[0].ljust(widths[0])}  {' '.join(cells[1:])}"
        return "  ".join([cells[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells[1:], widths[1:]))])

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))
    print()


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="10 MiB request/result: msgspec vs json vs pickle vs serde")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--size-mib", type=float, default=10.0, help="payload size on the msgpack wire")
    parser.add_argument("--only", help="comma-separated approaches, e.g. msgpack,json,pickle")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    found = approaches()
    if args.only:
        wanted = {"msgpack", *(key.strip() for key in args.only.split(","))}
        found = [approach for approach in found if approach.key in wanted]
    cases = build_cases(int(args.size_mib * MIB))
    print(f"Python {sys.version.split()[0]}, msgspec {msgspec.__version__}; approaches: "
          f"{', '.join(a.key for a in found)}; {args.rounds} rounds (+1 warm-up)\n")  # fmt: skip
    report(cases, found, run(cases, found, args.rounds))
    print(
        "size: encoded bytes. peak: tracemalloc peak above the live payload over encode + decode\n"
        "(separate runs from the timed ones). json/pickle/serde decode to plain values with no schema\n"
        "validation; the msgspec rows decode into the typed, validated schema (that is included)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
