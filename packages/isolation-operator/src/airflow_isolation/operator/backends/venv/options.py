"""``backend_options`` of the venv backend, validated when the DAG is parsed.

``memory_limit``: a cap on the target's address space (``RLIMIT_AS``). A task over it gets a
``MemoryError`` in its own code, which comes back as an ordinary task failure naming the limit,
instead of the kernel's out-of-memory killer picking a victim, which may be the worker. It is not
Docker's ``mem_limit`` (a cgroup cap on resident memory), hence the different name: address space
counts reserved but untouched memory too (thread stacks, allocator arenas, BLAS buffers), so set
it well above what the task really uses.

``warm`` (default ``True``) lets the task start in a child of the build's warm runtime (see
``venv.warm``) when the worker's ``[isolation] warm_runtime`` allows it; ``False`` always starts a
fresh interpreter.

The rest shape the sandbox (``workspace.sandbox``) and the target's environment, with the docker
backend's names: ``env`` (values), ``inherit_env`` (names of the worker's variables to pass on:
nothing else of the worker's environment reaches the task), ``mounts`` (paths of the worker the
sandbox shows, read-only unless asked) and ``network`` (``"none"`` cuts it). ``env`` and
``inherit_env`` apply unsandboxed too, and so does a mount at its own path (unsandboxed, the
target sees every path the worker's user can, read-only or not); a mount moved to another path and
``network="none"`` need the sandbox, so a task with them fails rather than run without what it
asked for.

``run_as_user`` runs the target as another Unix user of the worker (``venv.impersonation``).
"""

from __future__ import annotations

import posixpath
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple, Union

import msgspec

from airflow_isolation.operator.backends.options import (
    BackendOptionsError,
    check_env_name,
    check_inherited_name,
    convert,
    parse_size,
)
from airflow_isolation.operator.backends.venv.impersonation import check_user_name
from airflow_isolation.workspace.sandbox import BindMount, SandboxProfile

MIN_MEMORY_LIMIT = 64 * 1024**2
"""The interpreter and runtime alone map about 30 MiB; Airflow needs a few hundred."""

_WORKER_ENVIRONMENT = "the target's environment, which any process of the worker's user can read"


class VenvMount(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One entry of ``mounts``: ``{"source": "/data", "target": "/data", "read_only": True}``."""

    source: str
    target: str = ""
    read_only: bool = True

    def __post_init__(self) -> None:
        BindMount(self.source, self.target or self.source, self.read_only)  # its checks
        if not posixpath.isabs(self.source):
            raise ValueError(f"mount source {self.source!r} must be an absolute path on the worker")


class VenvOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What a task may set in ``backend_options`` for ``backend="venv"``.

    :param memory_limit: the target's address-space limit, bytes or ``"512m"``/``"2g"``.
    :param warm: whether the task may start from the warm runtime instead of a fresh interpreter.
    :param env: extra non-secret environment variables of the target.
    :param inherit_env: names of the worker's environment variables the target gets too.
    :param mounts: ``[{"source": "/data", "target": "/data", "read_only": True}]``, in the sandbox.
    :param network: ``"none"``: the sandbox has only a loopback device of its own.
    :param run_as_user: a Unix user of the worker the target runs as, by ``sudo`` as Airflow's own
        ``run_as_user`` does (``venv.impersonation``); such a task starts cold.
    """

    memory_limit: Union[int, str, None] = None
    warm: bool = True
    env: Dict[str, str] = {}
    inherit_env: List[str] = []
    mounts: List[VenvMount] = []
    network: Literal["shared", "none"] = "shared"
    run_as_user: Optional[str] = None

    def __post_init__(self) -> None:
        if self.memory_limit is not None and parse_size(self.memory_limit, "memory_limit") < MIN_MEMORY_LIMIT:
            raise ValueError(
                f"memory_limit={self.memory_limit!r} is below 64m: the Python interpreter and the "
                "runtime alone need about 30 MiB of address space, Airflow a few hundred"
            )
        for name in self.env:
            check_env_name(name, _WORKER_ENVIRONMENT)
        for name in self.inherit_env:
            check_inherited_name(name)
        if self.run_as_user is not None:
            check_user_name(self.run_as_user)

    @property
    def memory_bytes(self) -> Optional[int]:
        return None if self.memory_limit is None else parse_size(self.memory_limit, "memory_limit")

    @property
    def memory_limit_text(self) -> str:
        limit = self.memory_limit
        return limit if isinstance(limit, str) else f"{limit} bytes"

    @property
    def profile(self) -> SandboxProfile:
        mounts: Tuple[BindMount, ...] = tuple(
            BindMount(m.source, m.target or m.source, m.read_only) for m in self.mounts
        )
        return SandboxProfile(network=self.network != "none", mounts=mounts)

    @property
    def needs_sandbox(self) -> Optional[str]:
        """What of these options only a sandbox can give, for the error when there is none.

        A mount at its own path is there unsandboxed too (the target sees what the worker's user
        sees), so one DAG runs on a worker with the sandbox and on one without; a mount moved to
        another path, or a cut network, cannot be had without it."""
        moved = [m.source for m in self.mounts if m.target and m.target != m.source]
        asked = [
            name
            for name, given in ((f"mounts {moved}", moved), ("network='none'", self.network == "none"))
            if given
        ]
        return ", ".join(asked) or None


def parse_venv_options(options: Mapping[str, Any]) -> VenvOptions:
    try:
        return convert(options, VenvOptions, "option(s)", nested={"mounts": VenvMount})
    except BackendOptionsError as exc:
        raise BackendOptionsError(
            f"{exc} (images, cpus and other container settings apply to backend='docker')"
        ) from None
