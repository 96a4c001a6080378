"""Moving the request into a container and the result out of it, as tar archives.

The request is copied in with ``put_archive`` before the container starts, so it never appears in
the container's command, environment or labels (all readable with ``docker inspect``), and no host
file or mount is needed (the worker may itself run in a container). It is mode 0600, owned by the
user the task runs as. The archive carries the ``/isolation`` directory entry too, so an image
built without it still works; extracting a directory entry over an existing one only resets its
mode (1777, as built images have it).
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import time
from typing import Iterator, Optional

import docker.errors
from docker.models.containers import Container

_CHUNK_BYTES = 1024 * 1024


def request_archive(
    path: str, data: bytes, uid: int, gid: int, *, with_folder: bool = True
) -> Iterator[bytes]:
    """A tar holding ``path``'s directory (1777, root) and ``path`` itself (0600, ``uid:gid``), to
    extract at ``/``; without the folder, only ``path``'s file name, to extract in its folder.

    Yielded in pieces, the request in slices of it, so the upload streams: a request may be 64 MiB,
    and building the archive in memory would hold another copy of it on the worker.
    """
    now = int(time.time())
    folder = tarfile.TarInfo(posixpath.dirname(path).lstrip("/"))
    folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o1777, now
    member = tarfile.TarInfo(path.lstrip("/") if with_folder else posixpath.basename(path))
    member.size, member.mode, member.mtime = len(data), 0o600, now
    member.uid, member.gid = uid, gid
    header = folder.tobuf(tarfile.PAX_FORMAT) if with_folder else b""
    yield header + member.tobuf(tarfile.PAX_FORMAT)
    for start in range(0, len(data), _CHUNK_BYTES):
        yield data[start : start + _CHUNK_BYTES]
    yield tarfile.NUL * (-len(data) % tarfile.BLOCKSIZE + 2 * tarfile.BLOCKSIZE)  # padding, end marker


def put_request(
    container: Container, path: str, data: bytes, uid: int, gid: int, *, folder_mounted: bool = False
) -> None:
    """``folder_mounted``: ``path``'s folder is a volume of the container (``read_only``), and the
    engine extracts into a read-only container only inside its volumes, so the archive goes there
    rather than at ``/``."""
    if folder_mounted:
        archive = request_archive(path, data, uid, gid, with_folder=False)
        if not container.put_archive(posixpath.dirname(path), archive):
            raise OSError(f"the Docker engine refused to copy the request to {path}")
        return
    if not container.put_archive("/", request_archive(path, data, uid, gid)):
        raise OSError(f"the Docker engine refused to copy the request to {path}")


def read_file(container: Container, path: str) -> Optional[bytes]:
    """The content of ``path`` in the container (running or not), or None when it does not exist."""
    try:
        chunks, _stat = container.get_archive(path)
        archive = b"".join(chunks)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar:
            if member.isfile():
                handle = tar.extractfile(member)
                return handle.read() if handle is not None else None
    return None
