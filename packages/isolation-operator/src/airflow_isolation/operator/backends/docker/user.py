"""Which uid:gid the task runs as in a container, so the 0600 request file can be its own.

Docker accepts ``user`` as ``uid``, ``uid:gid``, ``name`` or ``name:group``; names are looked up in
the image's ``/etc/passwd`` and ``/etc/group``, read from the created (not yet started) container.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

from docker.models.containers import Container

from airflow_isolation.operator.backends.docker.archive import read_file
from airflow_isolation.operator.backends.docker.client import DockerBackendError


def _table(container: Container, path: str) -> Dict[str, Tuple[int, int]]:
    """``name -> (id, primary gid)`` from a passwd/group file; ``(gid, gid)`` for groups."""
    data = read_file(container, path) or b""
    table: Dict[str, Tuple[int, int]] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdigit():
            ident = int(fields[2])
            table[fields[0]] = (ident, int(fields[3]) if fields[3].isdigit() else ident)
    return table


def container_owner(container: Container, user: Optional[str]) -> Tuple[int, int]:
    """``(uid, gid)`` of ``user`` in the container; root when no user is set."""
    if not user:
        return 0, 0
    name, _, group = user.partition(":")
    if name.isdigit():
        uid, gid = int(name), 0
        if not group:
            by_uid = {entry[0]: entry[1] for entry in _table(container, "/etc/passwd").values()}
            gid = by_uid.get(uid, 0)
    else:
        found = _table(container, "/etc/passwd").get(name)
        if found is None:
            raise DockerBackendError(
                f"user {name!r} does not exist in the image's /etc/passwd: create it in the image or "
                "set backend_options={'user': 'UID:GID'} with numeric ids"
            )
        uid, gid = found
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            entry = _table(container, "/etc/group").get(group)
            if entry is None:
                raise DockerBackendError(
                    f"group {group!r} does not exist in the image's /etc/group: use a numeric gid"
                )
            gid = entry[0]
    return uid, gid
