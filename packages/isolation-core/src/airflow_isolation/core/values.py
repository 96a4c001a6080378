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
import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import math
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
EXT_FLOAT = 12  # JSON carrier only: NaN and infinities

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


_LEAVES = frozenset({str, bool, type(None)})


class ValuePath:
    """Where a value sits, formatted only when an error names it.

    Building ``"kwargs['rows'][41]['at']"`` for every value of a large argument cost more than the
    rest of the walk; a linked step costs one small object.
    """

    __slots__ = ("key", "parent", "step")

    def __init__(self, parent: object, step: str, key: object = None):
        self.parent = parent
        self.step = step
        self.key = key

    def __str__(self) -> str:
        return f"{self.parent}{self.step.format(self.key)}"


class Lowerer:
    """One walk over a value tree; ``carrier`` is ``"msgpack"`` or ``"json"``.

    ``path`` is a ``str`` or a ``ValuePath``. Plain leaves (str, bool, None, in-range int, a float
    the carrier holds) of dicts and lists are taken as they are, without a walk step each.
    """

    def __init__(self, carrier: str = "msgpack", callables: Optional[CallableLowerer] = None):
        self.json = carrier == "json"
        self.callables = callables

    @staticmethod
    def ext(code: int, lowered_payload: Any) -> msgspec.msgpack.Ext:
        return msgspec.msgpack.Ext(code, _packer.encode(lowered_payload))

    def lower(self, value: Any, path: Any = "value") -> Any:
        cls = type(value)
        if cls in _LEAVES:
            return value
        if cls is dict:
            return self._dict(value, path)
        if cls is list:
            return self._list(value, path)
        if cls is dt.datetime:
            return self._datetime(value)
        if cls is float:
            return self._float(value)
        if cls is int:
            return self._int(value, path)
        if isinstance(value, enum.Enum):
            return self.lower(value.value, path)
        # Subclasses of the scalars (numpy.float64, markupsafe.Markup, ...): msgspec refuses them,
        # and the target may not have the class anyway, so they travel as the plain type.
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, float):
            return self._float(float.__float__(value))
        if isinstance(value, int) and not isinstance(value, bool):
            return self._int(int.__int__(value), path)
        if isinstance(value, dict):
            return self._dict(value, path)
        if isinstance(value, list):
            return self._list(value, path)
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return self.ext(
                EXT_TUPLE, [self.lower(v, ValuePath(path, "[{}]", i)) for i, v in enumerate(value)]
            )
        if isinstance(value, (set, frozenset)):
            code = EXT_FROZENSET if isinstance(value, frozenset) else EXT_SET
            return self.ext(code, [self.lower(v, ValuePath(path, "{{}}")) for v in value])
        if isinstance(value, dt.datetime):
            return self._datetime(value)
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
        if isinstance(value, tuple):  # namedtuple: its fields by name, like Airflow's XCom does
            fields = value._asdict()  # type: ignore[attr-defined]
            return {k: self.lower(v, ValuePath(path, ".{}", k)) for k, v in fields.items()}
        if isinstance(value, CallableSpec):
            return self._callable(value, path)
        if isinstance(value, msgspec.Struct):
            return self.lower(msgspec.structs.asdict(value), path)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.lower({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, path)
        if callable(value):
            if self.callables is not None:
                return self._callable(self.callables(value, str(path)), path)
            raise ValueEncodeError(
                path,
                value,
                "functions and classes can only be sent where the operator ships a callable "
                "(python_callable, @task.isolated); pass an importable 'module:name' string instead",
            )
        raise ValueEncodeError(
            path,
            value,
            "only JSON-like values, datetimes, durations, tuples, sets, decimals, UUIDs and bytes "
            "can be sent; convert it (e.g. a DataFrame with .to_dict() or write it to storage and "
            "pass its path)",
        )

    def _dict(self, value: Dict[Any, Any], path: Any) -> Dict[Any, Any]:
        if self.json:
            self._check_json_keys(value, path)
        lower, plain = self.lower, self._plain_leaf
        return {
            (k if type(k) is str else self._key(k, path)): (
                v if plain(v) else lower(v, ValuePath(path, "[{!r}]", k))
            )
            for k, v in value.items()
        }

    def _list(self, value: List[Any], path: Any) -> List[Any]:
        lower, plain = self.lower, self._plain_leaf
        return [v if plain(v) else lower(v, ValuePath(path, "[{}]", i)) for i, v in enumerate(value)]

    def _plain_leaf(self, value: Any) -> bool:
        """Carried as it is: no extension, nothing to check but an int's range or a JSON float."""
        cls = type(value)
        if cls in _LEAVES:
            return True
        if cls is int:
            return bool(_INT64_MIN <= value <= _UINT64_MAX)
        return cls is float and (not self.json or math.isfinite(value))

    @staticmethod
    def _check_json_keys(value: Dict[Any, Any], path: Any) -> None:
        if not all(isinstance(k, str) for k in value):
            raise ValueEncodeError(path, value, "JSON transport needs string keys")
        if len(value) == 1 and JSON_EXT_KEY in value:
            raise ValueEncodeError(path, value, f"the key {JSON_EXT_KEY!r} is reserved for the JSON carrier")

    def _datetime(self, value: dt.datetime) -> msgspec.msgpack.Ext:
        kind = "pendulum" if _is_pendulum(value) else "datetime"
        return self.ext(EXT_DATETIME, [value.isoformat(), _zone_name(value), kind])

    def _callable(self, spec: CallableSpec, path: Any) -> msgspec.msgpack.Ext:
        payload = dict(msgspec.structs.asdict(spec), type="callable")
        return self.ext(EXT_CALLABLE, self.lower(payload, path))

    def _float(self, value: float) -> Any:
        if self.json and not math.isfinite(value):  # JSON has no NaN/Infinity: msgspec writes null
            return self.ext(EXT_FLOAT, value)
        return value

    @staticmethod
    def _int(value: int, path: Any) -> int:
        if not _INT64_MIN <= value <= _UINT64_MAX:
            raise ValueEncodeError(path, value, "integers beyond 64 bits cannot be sent; pass it as a string")
        return value

    def _key(self, key: Any, path: Any) -> Any:
        if isinstance(key, enum.Enum):
            key = key.value
        if isinstance(key, str):
            return str.__str__(key)
        if isinstance(key, int) and not isinstance(key, bool):
            return self._int(int.__int__(key), ValuePath(path, " key {!r}", key))
        raise ValueEncodeError(f"{path} key", key, "dictionary keys must be strings or integers")


class Raiser:
    """Turns Ext values (or their JSON wrappers) back into Python objects.

    A malformed extension payload is reported as ``msgspec.DecodeError`` (which the codec turns into
    ``RequestDecodeError``); exceptions of the ``callables`` hook propagate unchanged.
    """

    def __init__(self, callables: Optional[CallableRaiser] = None, what: str = "request"):
        self.callables = callables
        self.what = what
        self._decoder = msgspec.msgpack.Decoder(ext_hook=self.ext_hook)

    def ext_hook(self, code: int, data: memoryview) -> Any:
        payload = self._decoder.decode(data)
        if code == EXT_CALLABLE:  # outside the try: errors of the callables hook are the hook's own
            return self._raise_callable(payload)
        try:
            return self.raise_ext(code, payload)
        except msgspec.DecodeError:
            raise
        except Exception as exc:  # a payload that does not fit its code: corrupted or hand-made
            raise msgspec.DecodeError(
                f"malformed value of extension type {code} ({type(exc).__name__}: {exc})"
            ) from exc

    def raise_ext(self, code: int, payload: Any) -> Any:
        if code == EXT_DATETIME:
            return _raise_datetime(*payload)
        if code == EXT_DATE:
            return dt.date.fromisoformat(payload)
        if code == EXT_TIME:
            return dt.time.fromisoformat(payload)
        if code == EXT_TIMEDELTA:
            return dt.timedelta(days=payload[0], seconds=payload[1], microseconds=payload[2])
        if code in (EXT_TUPLE, EXT_SET, EXT_FROZENSET):
            if not isinstance(payload, list):
                raise TypeError(f"expected an array, got {type(payload).__name__}")
            return {EXT_TUPLE: tuple, EXT_SET: set, EXT_FROZENSET: frozenset}[code](payload)
        if code == EXT_DECIMAL:
            return decimal.Decimal(payload)
        if code == EXT_UUID:
            return uuid.UUID(payload)
        if code == EXT_BYTES:
            if not isinstance(payload, bytes):  # bytes(5) would be five zero bytes, not an error
                raise TypeError(f"expected bytes, got {type(payload).__name__}")
            return payload
        if code == EXT_FLOAT:
            return float(payload)
        if code == EXT_CALLABLE:
            return self._raise_callable(payload)
        reader = (
            "the runtime in the target environment (airflow-isolation-runtime; then rebuild it with "
            "`isolationctl env build NAME`)"
            if self.what == "request"
            else "the operator on the host (airflow-isolation-operator)"
        )
        raise msgspec.DecodeError(
            f"unknown extension type {code}: the {self.what} was written by a newer "
            f"airflow-isolation-core than this side has; upgrade {reader}"
        )

    def _raise_callable(self, payload: Any) -> Any:
        try:
            spec = msgspec.convert(payload, CallableSpec)
        except msgspec.ValidationError as exc:
            raise msgspec.DecodeError(f"malformed callable (extension type {EXT_CALLABLE}): {exc}") from exc
        return self.callables(spec) if self.callables is not None else spec

    def raise_json(self, value: Any) -> Any:
        """Undo the JSON wrapping of Ext payloads inside an already-decoded JSON value."""
        if isinstance(value, dict):
            if len(value) == 1 and JSON_EXT_KEY in value:
                return self._raise_json_ext(value[JSON_EXT_KEY])
            return {k: self.raise_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.raise_json(v) for v in value]
        return value

    def _raise_json_ext(self, wrapped: Any) -> Any:
        try:
            code, b64 = wrapped
            data = base64.b64decode(b64, validate=True)
        except (TypeError, ValueError) as exc:  # binascii.Error is a ValueError
            raise msgspec.DecodeError(
                f"malformed {JSON_EXT_KEY!r} value {wrapped!r:.80}: expected [code, base64]"
            ) from exc
        if not isinstance(code, int):
            raise msgspec.DecodeError(f"malformed {JSON_EXT_KEY!r} value: code {code!r} is not an integer")
        return self.ext_hook(code, memoryview(data))


def json_enc_hook(value: Any) -> Dict[str, List[Any]]:
    """msgspec.json cannot write Ext: wrap it in a one-key object ``Raiser.raise_json`` undoes."""
    if isinstance(value, msgspec.msgpack.Ext):
        return {JSON_EXT_KEY: [value.code, base64.b64encode(value.data).decode("ascii")]}
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def _raise_datetime(iso: str, zone: Optional[str], kind: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(iso)
    if kind == "pendulum":
        try:
            import pendulum
        except ImportError:  # a target without pendulum gets a plain datetime, same instant and zone
            pass
        else:
            return _raise_pendulum(pendulum, value, zone)
    if zone is not None and value.tzinfo is not None:
        value = _attach_zone(value, zone)
    return value


def _raise_pendulum(pendulum: Any, value: dt.datetime, zone: Optional[str]) -> dt.datetime:
    """Through pendulum's own timezone: pendulum 2's ``instance()`` keeps only the offset of a ZoneInfo."""
    if value.tzinfo is None:  # a naive pendulum DateTime stays naive (instance() would make it UTC)
        result: dt.datetime = pendulum.instance(value, tz=None)
        return result
    if zone is not None:
        with contextlib.suppress(Exception):  # unknown zone name here: keep the fixed offset, same instant
            value = value.astimezone(pendulum.timezone(zone))
    result = pendulum.instance(value)
    return result


def _attach_zone(value: dt.datetime, zone: str) -> dt.datetime:
    """Reattach the named zone so DST-aware arithmetic keeps working in the target."""
    try:
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo(zone))
    except Exception:  # unknown zone name on this machine: keep the fixed offset, same instant
        return value
