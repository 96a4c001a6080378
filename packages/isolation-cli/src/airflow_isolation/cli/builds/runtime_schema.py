"""The wire schema an environment's installed runtime accepts, asked once per build and recorded.

A host refuses to send a task that needs a facet the target's runtime lacks (``core.facets``): an
older minor drops the fields it does not know, and with them the feature, silently. The host learns
the runtime's schema from the build manifest (and an image's label) without starting the target.
It is asked of what was installed, never taken from this CLI's own core: ``$ISOLATION_RUNTIME_SOURCE``
may name an older checkout or older wheels.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from airflow_isolation.cli.errors import CliError
from airflow_isolation.core.schema import SchemaVersion

PROBE = "from airflow_isolation.core import SCHEMA_VERSION as s; print('%d.%d' % (s.major, s.minor))"
"""Python 3.8 syntax and no import beyond core: it runs in every runtime ever released."""


def installed_schema(python: Path, rebuild: str) -> str:
    """``major.minor`` as the built venv's interpreter ``python`` imports its core."""
    return _ask([str(python), "-c", PROBE], str(python), rebuild)


def wheel_schema(core_wheel: Path, rebuild: str) -> str:
    """``major.minor`` of the core in ``core_wheel``, asked before the image it goes into exists
    (the image's label carries it). Unpacked first: imported from the zip itself, this host's
    installed core would answer instead."""
    with tempfile.TemporaryDirectory(prefix="isolation-core-") as unpacked:
        with zipfile.ZipFile(core_wheel) as archive:
            archive.extractall(
                unpacked, [name for name in archive.namelist() if name.startswith("airflow_isolation/")]
            )
        code = f"import sys; sys.path.insert(0, {unpacked!r}); {PROBE}"
        return _ask([sys.executable, "-c", code], core_wheel.name, rebuild)


def _ask(argv: list[str], what: str, rebuild: str) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CliError(
            f"cannot ask {what} for its runtime schema: {exc}", f"run `{rebuild} --force`"
        ) from exc
    answer = (proc.stdout.strip().splitlines() or [""])[-1]
    if proc.returncode != 0 or SchemaVersion.parse(answer) is None:
        last = (proc.stderr.strip().splitlines() or [answer or "no output"])[-1]
        raise CliError(
            f"cannot read the runtime schema of {what} (airflow_isolation.core.SCHEMA_VERSION): {last}",
            f"run `{rebuild} --force`",
        )
    return answer
