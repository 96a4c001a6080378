"""The environment a venv target starts with: an allowlist, never the worker's environment.

A worker's environment holds its secrets (``AIRFLOW_CONN_*``, ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``,
cloud credentials, tokens); a target gets only what any process needs to run (``PATH``, locale,
time zone, the user's name), what an activated venv sets, its own ``HOME`` and temp folder when it
is sandboxed, and what the task names itself: ``backend_options={"env": {...}}`` (values) and
``{"inherit_env": [...]}`` (names of the worker's variables). The same allowlist applies when a
task runs unsandboxed (``venv_sandbox = off``, or ``auto`` where the sandbox cannot be had), so
no task depends on the worker's environment in one mode and breaks in the other.
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Sequence

from airflow_isolation.core import launch

ALLOWED = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME"})
ALLOWED_PREFIXES = ("LC_",)


def task_environment(
    base: Mapping[str, str],
    venv: str,
    airflow_home: str,
    *,
    home: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    inherit: Sequence[str] = (),
) -> Dict[str, str]:
    """What a target in the built venv ``venv`` starts with: the allowlist of ``base`` (the
    worker's environment), the venv activated with the target's own ``airflow_home``, ``home``
    (with ``TMPDIR=/tmp``) when sandboxed, the worker's variables named in ``inherit`` and ``env``."""
    kept = {key: value for key, value in base.items() if key in ALLOWED or key.startswith(ALLOWED_PREFIXES)}
    kept.update({name: base[name] for name in inherit if name in base})
    kept.update(launch.venv_environment(venv, airflow_home, kept.get("PATH", os.defpath)))
    if home is not None:
        kept.update({"HOME": home, "TMPDIR": "/tmp"})
    elif "HOME" in base:
        kept["HOME"] = base["HOME"]
    kept.update(env or {})
    return kept
