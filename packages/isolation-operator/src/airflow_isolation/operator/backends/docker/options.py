"""``backend_options`` of the Docker backend, validated when the DAG is parsed.

Names follow the Docker provider's ``DockerOperator`` (``docker_url``, ``mem_limit``, ``shm_size``,
``network_mode``, ``mounts``, ``extra_hosts``, ``privileged``, ``cap_add``, ``user``) and ``docker run``
(``read_only``) so they read as users expect. This module imports no Docker SDK: a DAG processor
without Docker still checks the options.

The container is hardened by default (``container.hardening``: every capability dropped,
``no-new-privileges``); the options here loosen it one door at a time. One door never opens: a
mount of the container engine's socket is refused when the DAG is parsed, because whoever holds
that socket is root on the worker (DESIGN.md §8), and no option can say "this task is trusted".

The container's environment is visible to anyone who can run ``docker inspect``, so ``env`` refuses
names that look like secrets and Airflow connection/variable variables: those travel in the request.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
from typing import Any, Dict, List, Literal, Mapping, Optional, Union

import msgspec

from airflow_isolation.core.launch import IMAGE_IO_DIR
from airflow_isolation.operator.backends.options import check_env_name, convert, parse_size

_MIN_MEMORY = 6 * 1024**2  # the engine refuses less
_CAPABILITY = re.compile(r"^(CAP_)?[A-Z][A-Z0-9_]*$")
log = logging.getLogger(__name__)

ENGINE_SOCKET_NAMES = frozenset(
    {"docker.sock", "containerd.sock", "dockershim.sock", "crio.sock", "podman.sock", "cri-dockerd.sock"}
)
"""File names of container engine sockets: a bind of any of them hands the task the engine."""
ENGINE_SOCKET_PATHS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/docker/containerd/containerd.sock",
    "/var/run/dockershim.sock",
    "/run/crio/crio.sock",
    "/run/podman/podman.sock",
)
"""Where engines put their sockets: a bind of a folder above one (``/var/run``, ``/run``, ``/``)
hands the task the socket as surely as a bind of the socket itself."""


def engine_socket_in(source: str) -> Optional[str]:
    """The container engine socket a bind of ``source`` would show the task, or None.

    ``source`` is resolved (symlinks, ``..``) on the machine that parses the DAG, which for a bind
    mount is the worker or one configured like it: ``/var/run`` is a link to ``/run`` on most
    systems, and a link named ``data`` pointing at ``/run/docker.sock`` is the socket all the same.
    """
    resolved = os.path.realpath(source)
    if {posixpath.basename(resolved), posixpath.basename(source)} & ENGINE_SOCKET_NAMES:
        return resolved
    known = {*ENGINE_SOCKET_PATHS, *(os.path.realpath(path) for path in ENGINE_SOCKET_PATHS)}
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        known |= {host[len("unix://") :], os.path.realpath(host[len("unix://") :])}
    for candidate in (posixpath.normpath(source), resolved):
        prefix = candidate.rstrip("/") + "/"
        for socket_path in sorted(known):
            if socket_path == candidate or socket_path.startswith(prefix):
                return socket_path
    return None


class MountOption(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One entry of ``mounts``: ``{"source": ..., "target": ..., "type": ..., "read_only": ...}``."""

    target: str
    source: str = ""
    type: Literal["bind", "volume", "tmpfs"] = "bind"
    read_only: bool = False

    def __post_init__(self) -> None:
        if not posixpath.isabs(self.target):
            raise ValueError(f"mount target {self.target!r} must be an absolute path in the container")
        target = posixpath.normpath(self.target)
        if target in ("/", IMAGE_IO_DIR) or target.startswith(IMAGE_IO_DIR + "/"):
            raise ValueError(
                f"mount target {self.target!r} would hide {IMAGE_IO_DIR}, where the request and "
                "result files go: mount somewhere else"
            )
        if self.type == "bind" and not posixpath.isabs(self.source):
            raise ValueError(
                f"bind mount source {self.source!r} must be an absolute path on the worker "
                "(use type='volume' for a named volume)"
            )
        if self.type == "tmpfs" and self.source:
            raise ValueError(f"a tmpfs mount has no source (got {self.source!r})")
        socket_path = engine_socket_in(self.source) if self.type == "bind" else None
        if socket_path is not None:
            raise ValueError(
                f"bind mount source {self.source!r} would give the task the container engine's socket "
                f"({socket_path}), and whoever holds it is root on the worker: an isolated task never "
                "gets it. Remove the mount (bind the folder your data is in, not one above the socket); "
                "a task that must start containers is not one to isolate"
            )


class DockerOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What a task may set in ``backend_options`` for ``backend="docker"``.

    :param image: run this image instead of the environment's built image (the environment then
        only names the task's containers; its definition need not exist on the host).
    :param docker_url: the engine to use; default from ``DOCKER_HOST`` or the local socket.
    :param pull: ``"missing"`` pulls the pushed image when it is not on the worker, ``"always"``
        pulls before every run, ``"never"`` only uses local images.
    :param cpus: CPU limit, e.g. ``1.5``.
    :param mem_limit: memory limit, bytes or ``"512m"``/``"2g"``.
    :param shm_size: size of ``/dev/shm``, same units.
    :param network_mode: ``"bridge"`` (Docker's default), ``"none"``, ``"host"``, a network name…
    :param mounts: ``[{"source": "/data", "target": "/data", "type": "bind", "read_only": True}]``.
    :param env: extra non-secret environment variables.
    :param user: ``"uid[:gid]"`` or a user name of the image; default the image's user. A non-root
        user (``"65534:65534"``) keeps a task that escapes the runtime from being root even in the
        container.
    :param extra_hosts: ``{"hostname": "ip"}`` added to the container's ``/etc/hosts``.
    :param cap_add: capabilities given back to the task, e.g. ``["NET_BIND_SERVICE"]``: the
        container starts with every capability dropped.
    :param read_only: mount the image's root filesystem read-only; the runtime gets a private
        volume at ``/isolation`` and tmpfs at ``/tmp`` and the image's Airflow home (more writable
        places go in ``mounts``, e.g. ``{"target": "/root/.cache", "type": "tmpfs"}``).
    :param privileged: run the container privileged: the explicit opt-out of all hardening, and a
        loud one (see ``__post_init__``).
    :param warm: whether the task may run in a started, preloaded standby container of the worker
        (``docker.standby``) when the worker's ``[isolation] warm_runtime`` allows it; ``False``
        always creates and starts a new container.
    """

    image: Optional[str] = None
    docker_url: Optional[str] = None
    pull: Literal["missing", "always", "never"] = "missing"
    cpus: Optional[float] = None
    mem_limit: Union[int, str, None] = None
    shm_size: Union[int, str, None] = None
    network_mode: Optional[str] = None
    mounts: List[MountOption] = []
    env: Dict[str, str] = {}
    user: Optional[str] = None
    extra_hosts: Dict[str, str] = {}
    cap_add: List[str] = []
    read_only: bool = False
    privileged: bool = False
    warm: bool = True

    def __post_init__(self) -> None:
        if self.image is not None and not self.image.strip():
            raise ValueError("image must be an image reference like 'registry:5000/name:tag'")
        if self.cpus is not None and self.cpus <= 0:
            raise ValueError(f"cpus={self.cpus!r} must be positive (e.g. 0.5 or 2)")
        if self.mem_limit is not None and parse_size(self.mem_limit, "mem_limit") < _MIN_MEMORY:
            raise ValueError(f"mem_limit={self.mem_limit!r} is below Docker's minimum of 6m")
        if self.shm_size is not None:
            parse_size(self.shm_size, "shm_size")
        for name in self.env:
            check_env_name(name)
        for capability in self.cap_add:
            if not _CAPABILITY.match(capability) or capability.upper() in ("ALL", "CAP_ALL"):
                raise ValueError(
                    f"cap_add: {capability!r} is not one capability: name each one the task needs, "
                    "upper case (e.g. 'NET_BIND_SERVICE', see capabilities(7))"
                )
        if self.privileged:
            # It stays, rather than being refused: a DAG author who sets it already runs code on the
            # worker (the DAG file), so refusing protects nothing from them, and device access,
            # FUSE or nested containers have no narrower option. What the hardening keeps out is
            # the task's own code, and this is the one option that lets it all in, so it says so
            # every time the DAG is parsed and every time the task runs (``backend.py``).
            log.warning(PRIVILEGED_WARNING)

    @property
    def memory_bytes(self) -> Optional[int]:
        return None if self.mem_limit is None else parse_size(self.mem_limit, "mem_limit")

    @property
    def shm_bytes(self) -> Optional[int]:
        return None if self.shm_size is None else parse_size(self.shm_size, "shm_size")

    @property
    def nano_cpus(self) -> Optional[int]:
        return None if self.cpus is None else int(self.cpus * 1e9)

    @property
    def mem_limit_text(self) -> str:
        return str(self.mem_limit) if isinstance(self.mem_limit, str) else f"{self.mem_limit} bytes"


PRIVILEGED_WARNING = (
    "backend_options privileged=True: the container gets every capability, every device of the "
    "worker and no seccomp or AppArmor profile, so the task's code can take over the worker. Ask for "
    "the capabilities it needs with cap_add, and the devices with mounts, instead"
)


def parse_docker_options(options: Mapping[str, Any]) -> DockerOptions:
    return convert(options, DockerOptions, "option(s)", nested={"mounts": MountOption})
