"""Resolving an environment's requirements into a lock on the host, before anything is built.

The lock is what gets installed (with ``--no-deps``), so the target contains exactly what was
hashed. A venv's lock is resolved against its interpreter; an image's against the image's Python
version and platform (``--python-version``/``--python-platform``), never the host's, so markers
and wheel availability match the image.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from airflow_isolation.cli.hashing import normalise_lock
from airflow_isolation.cli.image.target_platform import TargetPlatform
from airflow_isolation.cli.resolve.python_finder import Interpreter
from airflow_isolation.cli.resolve.uv_tool import run_uv


def compile_lock(requirements: Sequence[str], interpreter: Interpreter, definition_file: Path) -> str:
    """Normalised ``uv pip compile`` output for ``requirements`` on ``interpreter``."""
    return _compile(
        requirements,
        ["--python", str(interpreter.path)],
        definition_file,
        f"Python {interpreter.version}",
    )


def compile_lock_for_platform(
    requirements: Sequence[str], platform: TargetPlatform, definition_file: Path
) -> str:
    """Normalised ``uv pip compile`` output for an image's Python and platform."""
    return _compile(
        requirements,
        ["--python-version", platform.python_version, "--python-platform", platform.uv_platform],
        definition_file,
        f"Python {platform.python_version} on {platform.uv_platform}",
    )


def _compile(requirements: Sequence[str], target_args: list[str], definition_file: Path, target: str) -> str:
    with tempfile.TemporaryDirectory(prefix="isolation-lock-") as tmp:
        source = Path(tmp) / "requirements.in"
        output = Path(tmp) / "requirements.txt"
        source.write_text("".join(f"{requirement}\n" for requirement in requirements))
        run_uv(
            [
                "pip",
                "compile",
                str(source),
                *target_args,
                "--output-file",
                str(output),
                "--no-header",
                "--no-annotate",
            ],
            what=f"resolving the requirements of {definition_file} for {target}",
            hint=f"fix `requirements` in {definition_file} (uv's explanation is above: a version "
            f"that does not exist, conflicting pins, or no wheel for {target}), then build again",
        )
        return normalise_lock(output.read_text())
