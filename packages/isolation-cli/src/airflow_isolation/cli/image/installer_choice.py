"""Which package installer the image build's ``RUN`` steps fetch from the wheel server.

The host's own ``uv`` binary is the fast choice and needs nothing from the base image, but it only
runs on the same CPU architecture (and glibc, which every supported base has). For another
architecture a pip wheel is served instead; ``python pip.whl/pip`` runs on any CPython.
"""

from __future__ import annotations

import platform as host_platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from airflow_isolation.cli.errors import CommandFailed
from airflow_isolation.cli.image.target_platform import TargetPlatform, normalise_arch
from airflow_isolation.cli.resolve.uv_tool import find_uv

INSTALLER_DIR = "installer"


@dataclass(frozen=True)
class Installer:
    """A file to serve as ``installer/<served_name>``."""

    path: Path
    served_name: str


def choose_installer(platform: TargetPlatform, build_path: Path) -> Installer:
    uv = find_uv()
    if uv is not None and normalise_arch(host_platform.machine()) == platform.arch:
        return Installer(Path(uv).resolve(), "uv")
    return Installer(_pip_wheel(Path(build_path) / INSTALLER_DIR), "pip.whl")


def _pip_wheel(folder: Path) -> Path:
    """A pip wheel cached in ``folder`` (downloaded once)."""
    existing = sorted(folder.glob("pip-*.whl"))
    if existing:
        return existing[-1]
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--progress-bar", "off", "--dest", str(folder), "pip"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob("pip-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise CommandFailed(
            "downloading a pip wheel to install into a foreign-architecture image",
            argv,
            proc.returncode,
            proc.stderr,
            "check the host's access to the package index, or build on a machine of the image's architecture",
        )
    return wheels[-1]
