"""The platform an image's Python runs on, as uv, pip and Docker each spell it.

Requirements are resolved and downloaded on the host for the image's interpreter, not the host's:
the Python version, CPU architecture and glibc version probed from the base image decide which
wheels can be installed there. Keeping the three spellings in one place keeps them consistent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from packaging.tags import Tag, compatible_tags, cpython_tags

from airflow_isolation.cli.errors import CliError

_ARCH_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
_DOCKER_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
_UV_MANYLINUX = (17, 28, *range(31, 41))
"""The ``manylinux_2_X`` minors ``uv pip compile --python-platform`` knows (uv 0.5+)."""
OLDEST_GLIBC_MINOR = 17
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_DOCKER_PLATFORM = re.compile(r"^linux/([a-z0-9_]+)(?:/[a-z0-9]+)?$")


def normalise_arch(machine: str) -> str:
    arch = _ARCH_ALIASES.get(machine.lower())
    if arch is None:
        raise CliError(
            f"the CPU architecture {machine!r} is not supported for image builds",
            "use a linux/amd64 or linux/arm64 base image (--platform linux/amd64)",
        )
    return arch


def arch_of_docker_platform(platform: str) -> str:
    """``linux/amd64`` → ``x86_64``; other operating systems are refused."""
    match = _DOCKER_PLATFORM.match(platform.strip().lower())
    if not match:
        raise CliError(
            f"--platform {platform!r} is not a Linux platform like linux/amd64 or linux/arm64",
            "pass --platform linux/amd64 or --platform linux/arm64",
        )
    return normalise_arch(match.group(1))


@dataclass(frozen=True)
class TargetPlatform:
    """A CPython ``X.Y.Z`` on glibc ``2.N`` and an architecture: what wheels must fit."""

    python_version: str
    arch: str
    glibc_minor: int

    @property
    def python_major_minor(self) -> tuple[int, int]:
        match = _VERSION.match(self.python_version)
        if not match:
            raise CliError(f"cannot read the Python version {self.python_version!r} of the base image")
        return int(match.group(1)), int(match.group(2))

    @property
    def python_short(self) -> str:
        major, minor = self.python_major_minor
        return f"{major}.{minor}"

    @property
    def abi(self) -> str:
        major, minor = self.python_major_minor
        return f"cp{major}{minor}"

    @property
    def docker_platform(self) -> str:
        return f"linux/{_DOCKER_ARCH[self.arch]}"

    @property
    def glibc(self) -> str:
        return f"2.{self.glibc_minor}"

    @property
    def uv_platform(self) -> str:
        """The newest manylinux target uv knows that this glibc still runs."""
        minor = max(known for known in _UV_MANYLINUX if known <= self.glibc_minor)
        return f"{self.arch}-manylinux_2_{minor}"

    @property
    def pip_platforms(self) -> list[str]:
        """Every manylinux tag this glibc runs, newest first: pip does not expand them itself."""
        platforms = [f"manylinux_2_{minor}_{self.arch}" for minor in range(self.glibc_minor, 16, -1)]
        platforms.append(f"manylinux2014_{self.arch}")
        if self.arch == "x86_64":
            platforms += ["manylinux2010_x86_64", "manylinux1_x86_64"]
        return platforms

    @cached_property
    def wheel_tags(self) -> frozenset[Tag]:
        """Tags of wheels installable in the image, including ``linux_<arch>`` wheels built here
        from sdists (they are built for this exact Python and trusted for this glibc)."""
        platforms = [*self.pip_platforms, f"linux_{self.arch}"]
        version = self.python_major_minor
        return frozenset(
            [
                *cpython_tags(version, abis=[self.abi], platforms=platforms),
                *compatible_tags(version, interpreter=self.abi, platforms=platforms),
            ]
        )

    def describe(self) -> str:
        return f"Python {self.python_version}, {self.docker_platform}, glibc {self.glibc}"


def target_platform(python_version: str, machine: str, libc: str, libc_version: str) -> TargetPlatform:
    """The platform of a probed base image; musl or ancient glibc images are refused clearly."""
    arch = normalise_arch(machine)
    if libc != "glibc":
        raise CliError(
            f"the base image's C library is {libc or 'not glibc (musl/Alpine?)'}: wheels are resolved "
            "for manylinux (glibc) only",
            "use a Debian/Ubuntu based image, e.g. python:3.11-slim-bookworm",
        )
    match = re.match(r"^2\.(\d+)", libc_version)
    if not match or int(match.group(1)) < OLDEST_GLIBC_MINOR:
        raise CliError(
            f"the base image's glibc {libc_version!r} is older than 2.{OLDEST_GLIBC_MINOR}, the oldest "
            "manylinux wheels support",
            "use a newer base image, e.g. python:3.11-slim-bookworm",
        )
    return TargetPlatform(python_version=python_version, arch=arch, glibc_minor=int(match.group(1)))
