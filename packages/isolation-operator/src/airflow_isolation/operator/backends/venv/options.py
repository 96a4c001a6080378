"""``backend_options`` of the venv backend, validated when the DAG is parsed.

The one option is ``memory_limit``: a cap on the target's address space (``RLIMIT_AS``). A task
over it gets a ``MemoryError`` in its own code, which comes back as an ordinary task failure naming
the limit, instead of the kernel's out-of-memory killer picking a victim, which may be the worker.
It is not Docker's ``mem_limit`` (a cgroup cap on resident memory), hence the different name:
address space counts reserved but untouched memory too (thread stacks, allocator arenas, BLAS
buffers), so set it well above what the task really uses.

``warm`` (default ``True``) lets the task start in a child of the build's warm runtime (see
``venv_warm``) when the worker's ``[isolation] warm_runtime`` allows it; ``False`` always starts a
fresh interpreter.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

import msgspec

from airflow_isolation.operator.backends.options import BackendOptionsError, convert, parse_size

MIN_MEMORY_LIMIT = 64 * 1024**2
"""The interpreter and runtime alone map about 30 MiB; Airflow needs a few hundred."""


class VenvOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What a task may set in ``backend_options`` for ``backend="venv"``.

    :param memory_limit: the target's address-space limit, bytes or ``"512m"``/``"2g"``.
    :param warm: whether the task may start from the warm runtime instead of a fresh interpreter.
    """

    memory_limit: Union[int, str, None] = None
    warm: bool = True

    def __post_init__(self) -> None:
        if self.memory_limit is not None and parse_size(self.memory_limit, "memory_limit") < MIN_MEMORY_LIMIT:
            raise ValueError(
                f"memory_limit={self.memory_limit!r} is below 64m: the Python interpreter and the "
                "runtime alone need about 30 MiB of address space, Airflow a few hundred"
            )

    @property
    def memory_bytes(self) -> Optional[int]:
        return None if self.memory_limit is None else parse_size(self.memory_limit, "memory_limit")

    @property
    def memory_limit_text(self) -> str:
        limit = self.memory_limit
        return limit if isinstance(limit, str) else f"{limit} bytes"


def parse_venv_options(options: Mapping[str, Any]) -> VenvOptions:
    try:
        return convert(options, VenvOptions, "option(s)")
    except BackendOptionsError as exc:
        raise BackendOptionsError(
            f"{exc} (images, mounts, cpus and other container settings apply to backend='docker')"
        ) from None
