"""The host-side wheelhouse image builds install from, shared by every build and environment.

Containers here (and in air-gapped builds) cannot reach the package index, so every locked
requirement is fetched on the host as a wheel for the *image's* platform: ``pip download`` with
explicit manylinux tags, Python version and ABI. A requirement without such a wheel is built from
its sdist with a host interpreter of the image's Python ``X.Y``. Files already present are reused,
so a one-requirement change downloads one wheel.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from airflow_isolation.cli.builds.files import exclusive_lock
from airflow_isolation.cli.errors import CliError, CommandFailed
from airflow_isolation.cli.image.target_platform import TargetPlatform
from airflow_isolation.cli.resolve.python_finder import find_python
from airflow_isolation.cli.resolve.uv_tool import run_uv
from airflow_isolation.cli.ui import Steps

WHEELHOUSE_DIR = "wheelhouse"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;]+)\s*(?:;.*)?$")
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


@dataclass(frozen=True)
class Pin:
    """One ``name==version`` line of a lock."""

    name: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def wheelhouse_path(build_path: Path) -> Path:
    return Path(build_path) / WHEELHOUSE_DIR


def parse_pins(lock_text: str, definition_file: Path) -> list[Pin]:
    """The lock's pins; direct references cannot be fetched for another platform, so they are refused."""
    pins = []
    for line in lock_text.splitlines():
        if not line.strip():
            continue
        match = _PIN.match(line.strip())
        if not match:
            raise CliError(
                f"the lock line {line.strip()!r} is not a `name==version` pin: image builds install "
                "from wheels fetched on the host, which direct references (URLs, paths, VCS) cannot "
                "be for another platform",
                f"publish the package to an index (or a --find-links folder in pip.conf) and require it "
                f"by version in {definition_file}",
            )
        pins.append(Pin(canonicalize_name(match.group(1)), match.group(2)))
    return pins


def _same_version(left: str, right: str) -> bool:
    try:
        return Version(left) == Version(right)
    except InvalidVersion:
        return left == right


def wheels_by_pin(folder: Path, pins: list[Pin], platform: TargetPlatform) -> dict[Pin, Path]:
    """The wheel in ``folder`` that installs each pin on ``platform`` (pins without one are absent)."""
    wanted = {pin.name: pin for pin in pins}
    found: dict[Pin, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.whl")):
        try:
            name, version, _build, tags = parse_wheel_filename(path.name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        pin = wanted.get(name)
        if pin is None or pin in found or not _same_version(str(version), pin.version):
            continue
        if tags & platform.wheel_tags:
            found[pin] = path
    return found


def locked_wheels(
    lock_text: str, platform: TargetPlatform, folder: Path, definition_file: Path
) -> list[Path]:
    """The wheels in ``folder`` the image installs for the lock's pins (after :func:`fill_wheelhouse`)."""
    pins = parse_pins(lock_text, definition_file)
    found = wheels_by_pin(folder, pins, platform)
    return [found[pin] for pin in pins if pin in found]


def fill_wheelhouse(
    lock_text: str, platform: TargetPlatform, folder: Path, definition_file: Path, steps: Steps
) -> list[Pin]:
    """Make ``folder`` hold a wheel for every pin of the lock; returns the pins that were missing."""
    pins = parse_pins(lock_text, definition_file)
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder.parent / f"{folder.name}.lock", steps):
        missing = [pin for pin in pins if pin not in wheels_by_pin(folder, pins, platform)]
        if not missing:
            return []
        count = len(missing)
        with steps.step(f"downloading {count} wheel{'s' * (count != 1)} for {platform.describe()}"):
            without_wheel = _download(missing, platform, folder)
        for pin in without_wheel:
            with steps.step(f"building a wheel of {pin.requirement} from its sdist (no wheel published)"):
                _build_from_sdist(pin, platform, folder, definition_file)
        still = [pin for pin in pins if pin not in wheels_by_pin(folder, pins, platform)]
        if still:
            raise CliError(
                f"no wheel for {', '.join(pin.requirement for pin in still)} fits {platform.describe()} "
                f"in {folder}",
                f"pin versions that publish wheels for Python {platform.python_short} manylinux in "
                f"{definition_file}",
            )
        return missing


def pip_download_argv(dest: Path, binaries: str, *args: str) -> list[str]:
    """``pip download`` of exactly the given requirements (``binaries``: ``--only-binary=:all:`` or
    ``--no-binary=:all:``), run by this interpreter's pip so no other tool is needed on the host.

    pip's own ``Requires-Python`` check is off: it judges an sdist by the host's Python, and its
    refusal of a wheel reads as a failed download; ``requires_python`` checks every wheel against
    the image's Python instead, and says which package excludes it and what to change."""
    return [
        sys.executable, "-m", "pip", "download", "--no-deps", binaries, "--ignore-requires-python",
        "--disable-pip-version-check", "--progress-bar", "off", "--dest", str(dest), *args,
    ]  # fmt: skip


def _download(pins: list[Pin], platform: TargetPlatform, folder: Path) -> list[Pin]:
    """``pip download`` the pins as platform wheels; returns the pins that have none."""
    remaining = list(pins)
    without_wheel: list[Pin] = []
    while remaining:
        argv = pip_download_argv(
            folder,
            "--only-binary=:all:",
            *("--implementation", "cp", "--python-version", platform.python_short, "--abi", platform.abi),
            *[arg for tag in platform.pip_platforms for arg in ("--platform", tag)],
            *[pin.requirement for pin in remaining],
        )
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            break
        failed = _unavailable_pin(proc.stderr, remaining)
        if failed is None:
            raise CommandFailed(
                "downloading wheels for the image",
                argv,
                proc.returncode,
                proc.stderr or proc.stdout,
                "check the host's access to the package index (pip.conf, proxies) and the pins above",
            )
        without_wheel.append(failed)
        remaining = [pin for pin in remaining if pin != failed]
    return without_wheel


def _unavailable_pin(stderr: str, pins: list[Pin]) -> Pin | None:
    match = _NO_MATCH.search(stderr)
    if not match:
        return None
    name = canonicalize_name(re.split(r"[=<>!~\[;]", match.group(1), maxsplit=1)[0])
    return next((pin for pin in pins if pin.name == name), None)


def _build_from_sdist(pin: Pin, platform: TargetPlatform, folder: Path, definition_file: Path) -> None:
    hint = (
        f"{pin.requirement} publishes no wheel for Python {platform.python_short} on "
        f"{platform.docker_platform}; pin a version that does in {definition_file}, or make its sdist "
        "build on this machine"
    )
    try:
        interpreter = find_python(platform.python_short)
    except CliError as exc:
        raise CliError(
            f"{pin.requirement} has no wheel for Python {platform.python_short} and no host Python "
            f"{platform.python_short} was found to build one from its sdist",
            f"install Python {platform.python_short} on this machine (`uv python install "
            f"{platform.python_short}`), or {hint.split('; ', 1)[1]}",
        ) from exc
    with tempfile.TemporaryDirectory(prefix="isolation-sdist-") as tmp:
        sdists = Path(tmp) / "sdist"
        wheels = Path(tmp) / "wheel"
        argv = pip_download_argv(sdists, "--no-binary=:all:", pin.requirement)
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise CommandFailed(
                f"downloading the sdist of {pin.requirement}", argv, proc.returncode, proc.stderr, hint
            )
        for sdist in sorted(sdists.iterdir()):
            run_uv(
                ["build", "--wheel", "--python", str(interpreter.path), "--out-dir", str(wheels), str(sdist)],
                what=f"building a wheel of {pin.requirement} with {interpreter.path}",
                hint=hint,
            )
        for wheel in wheels.glob("*.whl"):
            shutil.move(str(wheel), str(folder / wheel.name))
