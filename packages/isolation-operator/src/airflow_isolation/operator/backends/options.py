"""Shared helpers for turning a task's ``backend_options`` dict into a backend's typed options.

Unknown keys get a "did you mean" and the full list of allowed keys: a misspelt resource limit that
was silently ignored would only show up when a task runs out of memory in production.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Mapping, Optional, Type, TypeVar, Union

import msgspec

from airflow_isolation.operator import airflow_compat as compat

S = TypeVar("S", bound=msgspec.Struct)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_ENV_PREFIXES = ("AIRFLOW_CONN_", "AIRFLOW_VAR_")


class BackendOptionsError(ValueError):
    """``backend_options`` that its backend does not accept; raised when the DAG is parsed."""


def parse_size(value: Union[int, str], key: str) -> int:
    """Bytes from ``512m`` / ``1g`` / ``1024`` (Docker's units, powers of 1024)."""
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(value)
        if match is None:
            raise ValueError(f"{key}={value!r} is not a size: use bytes (an int) or e.g. '512m', '2g'")
        size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size <= 0:
        raise ValueError(f"{key}={value!r} must be positive")
    return size


def allowed_keys(struct: Type[msgspec.Struct]) -> str:
    return ", ".join(struct.__struct_fields__)


def check_keys(options: Mapping[str, Any], struct: Type[msgspec.Struct], what: str) -> None:
    fields = struct.__struct_fields__
    unknown = [key for key in options if key not in fields]
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), fields, n=1, cutoff=0.5)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise BackendOptionsError(f"unknown {what} {', '.join(hints)}; allowed keys: {allowed_keys(struct)}")


def convert(
    options: Mapping[str, Any],
    struct: Type[S],
    what: str,
    nested: Optional[Mapping[str, Type[msgspec.Struct]]] = None,
) -> S:
    """``msgspec.convert`` with errors that say what is allowed.

    ``nested`` maps an option holding structs (``"mounts"``) to their type, so an error inside one
    lists that struct's keys.
    """
    check_keys(options, struct, what)
    try:
        return msgspec.convert(dict(options), struct)
    except msgspec.ValidationError as exc:
        message = str(exc)
        for key, inner in (nested or {}).items():
            if f"`$.{key}[" in message:
                message += f"; each entry of {key} takes: {allowed_keys(inner)}"
        raise BackendOptionsError(message) from None


def check_env_name(
    name: str, visible_in: str = "the container's configuration, readable with `docker inspect`"
) -> None:
    """Refuse environment variables that would expose a secret in ``visible_in``."""
    if not _ENV_NAME.match(name):
        raise ValueError(f"env name {name!r} is not a valid environment variable name")
    if name.startswith(_SECRET_ENV_PREFIXES):
        raise ValueError(
            f"env {name!r} would put an Airflow connection or variable in {visible_in}: list it in "
            "connections=[...] or variables=[...] instead, which travel inside the request file"
        )
    if compat.is_sensitive_name(name):
        raise ValueError(
            f"env {name!r} looks like a secret, and the environment is part of {visible_in}: store it "
            "in an Airflow connection or variable and list it in connections=[...] or variables=[...]"
        )


def check_inherited_name(name: str) -> None:
    """A name of ``inherit_env``: a variable the worker already has, passed to the task alone (so
    a secret there reaches nobody new); Airflow's connection and variable variables still travel
    in the request instead, where they are masked and decoded as Airflow does."""
    if not _ENV_NAME.match(name):
        raise ValueError(f"inherit_env name {name!r} is not a valid environment variable name")
    if name.startswith(_SECRET_ENV_PREFIXES):
        raise ValueError(
            f"inherit_env {name!r} is an Airflow connection or variable: list it in connections=[...] "
            "or variables=[...] instead, which travel inside the request"
        )
