"""Wheels of ``airflow-isolation-core`` and ``-runtime`` for an image, and the pins that install them.

Local sources keep their version number while their code changes, so these wheels never go into
the shared wheelhouse (a stale one would be taken for current). They are cached under
``<build>/runtime-wheels/<digest of the runtime version>/`` instead: a local source's version is a
digest of its files (a wheel source's of their bytes), so a folder is reused only for exactly the
sources it was built from. The pins carry each wheel's sha256: the pin file is what Docker's layer
cache sees, so a changed runtime invalidates exactly the last layers, and the install verifies what
it got.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from packaging.utils import parse_wheel_filename

from airflow_isolation.cli.builds.runtime_source import CORE_DIST, RUNTIME_DIST, RuntimeSource
from airflow_isolation.cli.errors import CliError, CommandFailed
from airflow_isolation.cli.image.wheelhouse import pip_download_argv
from airflow_isolation.cli.resolve.uv_tool import run_uv

RUNTIME_WHEELS_DIR = "runtime-wheels"
KEEP_RUNTIMES = 4
_COMPLETE = ".complete"


def runtime_wheels(runtime: RuntimeSource, build_path: Path) -> Path:
    """The folder holding this runtime version's core and runtime wheels, built once per version."""
    root = Path(build_path) / RUNTIME_WHEELS_DIR
    folder = root / hashlib.sha256(runtime.version.encode()).hexdigest()[:24]
    if (folder / _COMPLETE).is_file():
        os.utime(folder / _COMPLETE)
        return folder
    root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:
        build_runtime_wheels(runtime, partial)
        (partial / _COMPLETE).write_text(runtime.version + "\n")
        try:
            partial.rename(folder)
        except OSError:  # another build got there first with the same wheels
            shutil.rmtree(partial, ignore_errors=True)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _prune(root, keep=folder)
    return folder


def _prune(root: Path, keep: Path) -> None:
    """Keep the ``KEEP_RUNTIMES`` most recently used versions (editing the runtime makes many)."""
    done = sorted(
        (entry for entry in root.iterdir() if (entry / _COMPLETE).is_file() and entry != keep),
        key=lambda entry: (entry / _COMPLETE).stat().st_mtime,
        reverse=True,
    )
    for entry in done[KEEP_RUNTIMES - 1 :]:
        shutil.rmtree(entry, ignore_errors=True)


def build_runtime_wheels(runtime: RuntimeSource, out_dir: Path) -> list[Path]:
    """Core and runtime wheels in ``out_dir``: copied, built from sources, or fetched from the index."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if runtime.kind == "wheels":
        for wheel in runtime.install_args:
            shutil.copyfile(wheel, out_dir / Path(wheel).name)
    elif runtime.kind == "local":
        for source in runtime.install_args:
            run_uv(
                ["build", "--wheel", "--out-dir", str(out_dir), source],
                what=f"building a wheel of {source}",
                hint=runtime.fix,
            )
    else:
        argv = pip_download_argv(out_dir, "--only-binary=:all:", *runtime.install_args)
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            what = f"downloading the runtime from {runtime.location}"
            raise CommandFailed(what, argv, proc.returncode, proc.stderr, runtime.fix)
    wheels = sorted(out_dir.glob("*.whl"))
    names = {parse_wheel_filename(wheel.name)[0] for wheel in wheels}
    if not {CORE_DIST, RUNTIME_DIST} <= names:
        raise CliError(
            f"expected wheels of {CORE_DIST} and {RUNTIME_DIST} in {out_dir}, found "
            f"{', '.join(wheel.name for wheel in wheels) or 'none'}",
            f"check {runtime.location}",
        )
    return wheels


def pinned_requirements(wheels: list[Path]) -> str:
    """``name==version --hash=sha256:...`` for each wheel, in a stable order."""
    lines = []
    for wheel in sorted(wheels, key=lambda path: path.name):
        name, version, _build, _tags = parse_wheel_filename(wheel.name)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"{name}=={version} --hash=sha256:{digest}")
    return "\n".join(lines) + "\n"
