"""``backend_options`` of the Docker backend, validated when the DAG is parsed.

Names follow the Docker provider's ``DockerOperator`` (``docker_url``, ``mem_limit``, ``shm_size``,
``network_mode``, ``mounts``, ``extra_hosts``, ``privileged``, ``user``) so they read as users expect.
This module imports no Docker SDK: a DAG processor without Docker still checks the options.

The container's environment is visible to anyone who can run ``docker inspect``, so ``env`` refuses
names that look like secrets and Airflow connection/variable variables: those travel in the request.
"""

from __future__ import annotations

import posixpath
from typing import Any, Dict, List, Literal, Mapping, Optional, Union

import msgspec

from airflow_isolation.core.launch import IMAGE_IO_DIR
from airflow_isolation.operator.backends.options import check_env_name, convert, parse_size

_MIN_MEMORY = 6 * 1024**2  # the engine refuses less


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
    :param user: ``"uid[:gid]"`` or a user name of the image; default the image's user.
    :param extra_hosts: ``{"hostname": "ip"}`` added to the container's ``/etc/hosts``.
    :param privileged: run the container privileged.
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


def parse_docker_options(options: Mapping[str, Any]) -> DockerOptions:
    return convert(options, DockerOptions, "option(s)", nested={"mounts": MountOption})
