"""The ``write_back`` argument, checked when the DAG is parsed: which kinds of write the task may
hand back to the host (applied by ``facets/write_back.py``)."""

from __future__ import annotations

from typing import Any, Collection, FrozenSet

KINDS = ("xcom", "variables")
DEFAULT: FrozenSet[str] = frozenset({"xcom"})


def parse(value: Any, where: str) -> FrozenSet[str]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise TypeError(
            f"{where}: write_back must be a list of kinds out of {list(KINDS)}, e.g. "
            f'write_back=["xcom", "variables"], not {value!r}'
        )
    unknown = sorted(str(kind) for kind in value if kind not in KINDS)
    if unknown:
        raise ValueError(
            f"{where}: unknown write_back kind(s) {unknown}; the kinds are {list(KINDS)} "
            '("xcom": replay ti.xcom_push calls, "variables": apply Variable.set calls, both on the host '
            "after the task succeeds)"
        )
    return frozenset(value)
