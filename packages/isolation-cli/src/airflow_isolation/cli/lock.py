"""Resolving an environment's requirements into a lock on the host, before anything is built.

The lock is what gets installed (with ``--no-deps``), so the venv contains exactly what was
hashed; resolving against the target interpreter makes markers match the venv.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from airflow_isolation.cli.hashing import normalise_lock
from airflow_isolation.cli.python_finder import Interpreter
from airflow_isolation.cli.uv_tool import run_uv


def compile_lock(requirements: Sequence[str], interpreter: Interpreter, definition_file: Path) -> str:
    """Normalised ``uv pip compile`` output for ``requirements`` on ``interpreter``."""
    with tempfile.TemporaryDirectory(prefix="isolation-lock-") as tmp:
        source = Path(tmp) / "requirements.in"
        output = Path(tmp) / "requirements.txt"
        source.write_text("".join(f"{requirement}\n" for requirement in requirements))
        run_uv(
            [
                "pip",
                "compile",
                str(source),
                "--python",
                str(interpreter.path),
                "--output-file",
                str(output),
                "--no-header",
                "--no-annotate",
            ],
            what=f"resolving the requirements of {definition_file} for Python {interpreter.version}",
            hint=f"fix `requirements` in {definition_file} (uv's explanation is above: a version "
            "that does not exist, conflicting pins, or no wheel for Python "
            f"{interpreter.version}), then build again",
        )
        return normalise_lock(output.read_text())
