"""Runs INSIDE ``docker build`` (copied into the build context, executed by the base image's python3).

Usage: ``python3 install.py http://127.0.0.1:PORT FOLDER REQUIREMENTS_FILE``

Installs the pins of REQUIREMENTS_FILE into the image's venv from the wheels the host serves under
``FOLDER/``, with no index and no dependency resolution (the lock is already resolved). The
installer is fetched from the same server and deleted in the same step, so neither it nor any
wheel ends up in an image layer: ``uv`` when the host serves one for this architecture, else a pip
wheel run as ``python pip.whl/pip``. Standard library only; Python 3.8 compatible.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from typing import List

VENV_PYTHON = "/opt/isolation/venv/bin/python"
"""``core.launch.IMAGE_PYTHON``, copied: core is not installed where this runs (the launch rule test
holds the two equal)."""


def fetch(url: str, destination: str) -> bool:
    """Download ``url``; ``False`` when the server does not have it."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
            shutil.copyfileobj(response, out)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise
    return True


def has_pins(requirements: str) -> bool:
    with open(requirements) as handle:
        return any(line.strip() and not line.lstrip().startswith("#") for line in handle)


def installer_command(server: str, workdir: str) -> List[str]:
    uv = os.path.join(workdir, "uv")
    if fetch(server + "/installer/uv", uv):
        os.chmod(uv, os.stat(uv).st_mode | stat.S_IXUSR)
        return [uv, "pip", "install", "--python", VENV_PYTHON, "--no-cache", "--compile-bytecode"]
    pip = os.path.join(workdir, "pip.whl")
    if fetch(server + "/installer/pip.whl", pip):
        return [VENV_PYTHON, pip + "/pip", "install", "--no-cache-dir", "--disable-pip-version-check"]
    sys.exit("isolation: the build's wheel server offers neither uv nor a pip wheel")


def main(server: str, folder: str, requirements: str) -> int:
    if not has_pins(requirements):
        print("isolation: nothing to install from " + requirements)
        return 0
    env = dict(os.environ, NO_COLOR="1", UV_NO_PROGRESS="1", UV_PYTHON_DOWNLOADS="never")
    env.pop("PIP_INDEX_URL", None)
    workdir = tempfile.mkdtemp(prefix="isolation-installer-")
    try:
        command = [
            *installer_command(server, workdir),
            "--no-index",
            "--find-links",
            server + "/" + folder + "/",
            "--no-deps",
            "-r",
            requirements,
        ]
        return subprocess.call(command, env=env)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
