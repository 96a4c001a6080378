"""Explicit extension types for values msgpack and JSON cannot carry faithfully.

msgspec encodes ``datetime``, ``tuple``, ``set`` and ``Decimal`` natively, but lossily for an
``Any`` field (a tuple comes back as a list, a zoned datetime as a string or a UTC instant), and it
never calls ``enc_hook`` for them. So values are *lowered* before encoding: a walk that turns each
such value into a ``msgspec.msgpack.Ext`` with a stable code, and rejects anything it cannot carry
with the path of the offending value. ``ext_hook`` raises them back after decoding. The JSON
carrier (needed where only JSON travels, e.g. the Kubernetes xcom sidecar) wraps the same Ext
payloads as ``{"__isolation_ext__": [code, base64]}``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from typing import Any, Callable, Dict, List, Optional

import msgspec

from airflow_isolation.core.errors import ValueEncodeError
from airflow_isolation.core.schema import CallableSpec

EXT_DATETIME = 1
EXT_DATE = 2
EXT_TIME = 3
EXT_TIMEDELTA = 4
EXT_TUPLE = 5
EXT_SET = 6
EXT_FROZENSET = 7
EXT_DECIMAL = 8
EXT_CALLABLE = 9
EXT_BYTES = 10
EXT_UUID = 11

JSON_EXT_KEY = "__isolation_ext__"

CallableLowerer = Callable[[Any, str], Any]
"""Turns a callable found at a path into a ``CallableSpec`` (supplied by the host)."""

CallableRaiser = Callable[[Any], Any]
"""Turns a decoded ``CallableSpec`` back into a callable (supplied by the target)."""

_packer = msgspec.msgpack.Encoder()
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1


def _zone_name(value: dt.datetime) -> Optional[str]:
    """The IANA name of a datetime's zone, when it has one (pendulum, zoneinfo, pytz)."""
    tz = value.tzinfo
    if tz is None:
        return None
    for attr in ("key", "name", "zone"):
        name = getattr(tz, attr, None)
        if isinstance(name, str) and name:
            return name
    return None


def _is_pendulum(value: object) -> bool:
    return type(value).__module__.startswith("pendulum")


class Lowerer:
    """One walk over a value tree; ``carrier`` is ``"msgpack"`` or ``"json"``."""

    def __init__(self, carrier: str = "msgpack", callables: Optional[CallableLowerer] = None):
        self.json = carrier == "json"
        self.callables = callables

    @staticmethod
    def ext(code: int, lowered_payload: Any) -> msgspec.msgpack.Ext:
        return msgspec.msgpack.Ext(code, _packer.encode(lowered_payload))

    def lower(self, value: Any, path: str = "value") -> Any:  # noqa: C901 - one dispatch table
        if value is None or isinstance(value, (bool, str, float)):
            return value
        if isinstance(value, int) and not isinstance(value, enum.Enum):
            if not _INT64_MIN <= value <= _UINT64_MAX:
                raise ValueEncodeError(path, value, "integers beyond 64 bits cannot be sent; pass it as a string")
            return value
        if isinstance(value, dict):
            if self.json and not all(isinstance(k, str) for k in value):
                raise ValueEncodeError(path, value, "JSON transport needs string keys")
            return {self._key(k, path): self.lower(v, f"{path}[{k!r}]") for k, v in value.items()}
        if isinstance(value, list):
            return [self.lower(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return self.ext(EXT_TUPLE, [self.lower(v, f"{path}[{i}]") for i, v in enumerate(value)])
        if isinstance(value, (set, frozenset)):
            code = EXT_FROZENSET if isinstance(value, frozenset) else EXT_SET
            return self.ext(code, [self.lower(v, f"{path}{{}}") for v in value])
        if isinstance(value, dt.datetime):
            kind = "pendulum" if _is_pendulum(value) else "datetime"
            return self.ext(EXT_DATETIME, [value.isoformat(), _zone_name(value), kind])
        if isinstance(value, dt.date):
            return self.ext(EXT_DATE, value.isoformat())
        if isinstance(value, dt.time):
            return self.ext(EXT_TIME, value.isoformat())
        if isinstance(value, dt.timedelta):
            return self.ext(EXT_TIMEDELTA, [value.days, value.seconds, value.microseconds])
        if isinstance(value, decimal.Decimal):
            return self.ext(EXT_DECIMAL, str(value))
        if isinstance(value, uuid.UUID):
            return self.ext(EXT_UUID, str(value))
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.ext(EXT_BYTES, bytes(value)) if self.json else bytes(value)
        if isinstance(value, enum.Enum):
            return self.lower(value.value, path)
        if isinstance(value, tuple):  # namedtuple: its fields by name, like Airflow's XCom does
            return {k: self.lower(v, f"{path}.{k}") for k, v in value._asdict().items()}
        if isinstance(value, CallableSpec):
            return self._callable(value, path)
        if isinstance(value, msgspec.Struct):
            return self.lower(msgspec.structs.asdict(value), path)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.lower(
                {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, path
            )
        if callable(value) and self.callables is not None:
            return self._callable(self.callables(value, path), path)
        raise ValueEncodeError(
            path,
            value,
            "only JSON-like values, datetimes, durations, tuples, sets, decimals, UUIDs and bytes "
            "can be sent; convert it (e.g. a DataFrame with .to_dict() or write it to storage and "
            "pass its path)",
        )

    def _callable(self, spec: CallableSpec, path: str) -> msgspec.msgpack.Ext:
        payload = dict(msgspec.structs.asdict(spec), type="callable")
        return self.ext(EXT_CALLABLE, self.lower(payload, path))

    def _key(self, key: Any, path: str) -> Any:
        if isinstance(key, (str, int)) and not isinstance(key, bool):
            return key
        raise ValueEncodeError(f"{path} key", key, "dictionary keys must be strings or integers")


class Raiser:
    """Turns Ext values (or their JSON wrappers) back into Python objects."""

    def __init__(self, callables: Optional[CallableRaiser] = None):
        self.callables = callables
        self._decoder = msgspec.msgpack.Decoder(ext_hook=self.ext_hook)

    def ext_hook(self, code: int, data: memoryview) -> Any:
        payload = self._decoder.decode(data)
        return self.raise_ext(code, payload)

    def raise_ext(self, code: int, payload: Any) -> Any:  # noqa: C901 - one dispatch table
        if code == EXT_DATETIME:
            return _raise_datetime(*payload)
        if code == EXT_DATE:
            return dt.date.fromisoformat(payload)
        if code == EXT_TIME:
            return dt.time.fromisoformat(payload)
        if code == EXT_TIMEDELTA:
            return dt.timedelta(days=payload[0], seconds=payload[1], microseconds=payload[2])
        if code == EXT_TUPLE:
            return tuple(payload)
        if code == EXT_SET:
            return set(payload)
        if code == EXT_FROZENSET:
            return frozenset(payload)
        if code == EXT_DECIMAL:
            return decimal.Decimal(payload)
        if code == EXT_UUID:
            return uuid.UUID(payload)
        if code == EXT_BYTES:
            return bytes(payload)
        if code == EXT_CALLABLE:
            spec = msgspec.convert(payload, CallableSpec)
            return self.callables(spec) if self.callables is not None else spec
        raise msgspec.DecodeError(
            f"unknown extension type {code}: the request was written by a newer "
            "airflow-isolation-core; upgrade the runtime in the target environment"
        )

    def raise_json(self, value: Any) -> Any:
        """Undo the JSON wrapping of Ext payloads inside an already-decoded JSON value."""
        if isinstance(value, dict):
            if len(value) == 1 and JSON_EXT_KEY in value:
                code, b64 = value[JSON_EXT_KEY]
                return self.ext_hook(code, memoryview(base64.b64decode(b64)))
            return {k: self.raise_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.raise_json(v) for v in value]
        return value


def json_enc_hook(value: Any) -> Dict[str, List[Any]]:
    """msgspec.json cannot write Ext: wrap it in a one-key object ``Raiser.raise_json`` undoes."""
    if isinstance(value, msgspec.msgpack.Ext):
        return {JSON_EXT_KEY: [value.code, base64.b64encode(value.data).decode("ascii")]}
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def _raise_datetime(iso: str, zone: Optional[str], kind: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(iso)
    if zone is not None and value.tzinfo is not None:
        value = _attach_zone(value, zone)
    if kind == "pendulum":
        try:
            import pendulum
        except ImportError:
            return value
        return pendulum.instance(value)
    return value


def _attach_zone(value: dt.datetime, zone: str) -> dt.datetime:
    """Reattach the named zone so DST-aware arithmetic keeps working in the target."""
    try:
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo(zone))
    except Exception:  # unknown zone name on this machine: keep the fixed offset, same instant
        return value
