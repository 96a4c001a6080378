"""Where a build's warm runtime listens: a socket per machine, user and build, in a 0700 folder.

The socket is named after the uid and a digest of the build's folder, content hash and build time
(``build_key``), so a rebuild, even a forced one into the same folder, gets a new runtime. Its folder
is ``$XDG_RUNTIME_DIR/airflow-isolation-warm``, else ``<build_path>/warm-<uid>``, else one in the
temp directory when those paths are too long for a Unix socket; the runtime refuses other uids on
top of that.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import List

from airflow_isolation.workspace.environment import BuildManifest
from airflow_isolation.workspace.warm.errors import WarmUnavailable

_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes with the NUL


def build_key(manifest: BuildManifest) -> str:
    """Per uid and build: a rebuild, even a forced one into the same folder, gets a new runtime."""
    build = f"{manifest.venv_path}\0{manifest.content_hash}\0{manifest.built_at}"
    digest = hashlib.sha256(build.encode()).hexdigest()
    return f"{os.getuid()}-{digest[:20]}"


def private_folder(path: Path) -> Path:
    """``path`` as a 0700 folder of this uid, made if missing; refuses one another uid owns."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise WarmUnavailable(f"{path} is not a folder of uid {os.getuid()}: remove it or fix its owner")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def socket_folder(build_path: Path) -> Path:
    candidates: List[Path] = []
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        candidates.append(Path(runtime_dir) / "airflow-isolation-warm")
    candidates.append(Path(build_path) / f"warm-{os.getuid()}")  # a build path may serve several users
    candidates.append(Path(tempfile.gettempdir()) / f"airflow-isolation-warm-{os.getuid()}")
    for folder in candidates:
        if len(str(folder)) + 40 <= _MAX_SOCKET_PATH:
            return private_folder(folder)
    return private_folder(Path("/tmp") / f"airflow-isolation-warm-{os.getuid()}")


def socket_name(manifest: BuildManifest, variant: str = "") -> str:
    """``<build key>.sock``, or ``<build key>-<variant>.sock`` for a warm runtime of the same build
    started otherwise (in a sandbox of a given profile): tasks share a warm runtime only when they
    would start the same way cold."""
    return f"{build_key(manifest)}-{variant}.sock" if variant else f"{build_key(manifest)}.sock"


def socket_path(manifest: BuildManifest, build_path: Path, variant: str = "") -> Path:
    return socket_folder(build_path) / socket_name(manifest, variant)
