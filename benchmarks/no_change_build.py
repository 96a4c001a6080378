#!/usr/bin/env python
"""How long does ``isolationctl env build`` take when nothing changed? Against a forced re-resolve.

A deploy step that runs ``isolationctl env build --all`` on every worker start pays this for every
environment. The issue's target: "up to date" decided in under a second, without running the
resolver. Per round, interleaved, each job a fresh ``isolationctl`` process on the same built
environment:

* ``no change``: ``isolationctl env build NAME``: the kept lock is reused (its inputs, the
  definition, Python and runtime, are unchanged), the content hash matches, nothing is built;
* ``--upgrade``: ``isolationctl env build NAME --upgrade``: the lock is resolved again with uv (what
  every build did before locks were kept); the same lock comes out, so nothing is built either.

Also timed in this process, without the CLI's start-up: the decision itself (``plan_build`` and
the up-to-date check), which is what the target is about. Reported: medians and mins per job, the
ratio ``--upgrade`` / ``no change``, and whether the decision stays under 1 s. Nothing asserted.

Run: ``python benchmarks/no_change_build.py`` (a throwaway environment with ``--requirement six``,
built once untimed, in a temporary folder), or ``--environment NAME`` for one of yours, found
through the usual settings (e.g. ``hatch run python benchmarks/no_change_build.py --environment
af210``). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from rich.console import Console

from airflow_isolation.cli import ui
from airflow_isolation.cli.settings import resolve_settings
from airflow_isolation.cli.venv.builder import current_build, plan_build

TARGET_SECONDS = 1.0


def isolationctl(*args: str, env: Dict[str, str]) -> float:
    """Wall time of one ``isolationctl`` run; a failure stops the benchmark (its time means nothing)."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "airflow_isolation.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"`isolationctl {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    if "up to date" not in done.stdout:
        raise SystemExit(
            f"`isolationctl {' '.join(args)}` built something; is the environment built?\n{done.stdout}"
        )
    return elapsed


def decision_seconds(name: str) -> float:
    """``plan_build`` plus the up-to-date check, in this process (output discarded)."""
    with open(os.devnull, "w") as sink:
        steps = ui.Steps(console=Console(file=sink))
        began = time.perf_counter()
        plan = plan_build(resolve_settings(), name, None, steps)
        if current_build(plan) is None:
            raise SystemExit(f"{name} is not up to date: build it first")
        return time.perf_counter() - began


def row(label: str, values: List[float]) -> str:
    median = statistics.median(values)
    return f"  {label:<28} median {median:7.3f}s   min {min(values):7.3f}s   (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environment", help="an environment of yours (default: a throwaway one)")
    parser.add_argument("--requirement", default="six", help="the throwaway environment's requirement")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ, COLUMNS="200")
    scratch = None
    name = args.environment
    if name is None:
        scratch = Path(tempfile.mkdtemp(prefix="isolation-bench-"))
        env["AIRFLOW__ISOLATION__ENVIRONMENTS_PATH"] = os.environ["AIRFLOW__ISOLATION__ENVIRONMENTS_PATH"] = (
            str(scratch / "environments")
        )
        env["AIRFLOW__ISOLATION__BUILD_PATH"] = os.environ["AIRFLOW__ISOLATION__BUILD_PATH"] = str(
            scratch / "build"
        )
        name = "nochange"
        subprocess.run(
            [sys.executable, "-m", "airflow_isolation.cli", "env", "create", name, "-r", args.requirement],
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"building throwaway environment {name!r} ({args.requirement}) once, untimed ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "airflow_isolation.cli", "env", "build", name],
            env=env,
            check=True,
            capture_output=True,
        )
    try:
        isolationctl("env", "build", name, env=env)  # warm-up: file cache, uv cache
        unchanged: List[float] = []
        upgrade: List[float] = []
        decisions: List[float] = []
        for _ in range(args.rounds):
            unchanged.append(isolationctl("env", "build", name, env=env))
            upgrade.append(isolationctl("env", "build", name, "--upgrade", env=env))
            decisions.append(decision_seconds(name))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"env build {name}, nothing changed, {args.rounds} rounds:")
    print(row("no change (command)", unchanged))
    print(row("--upgrade (command)", upgrade))
    print(row("no change (decision only)", decisions))
    ratio = statistics.median(upgrade) / statistics.median(unchanged)
    print(f"  --upgrade / no change: {ratio:.1f}x (medians of the whole command)")
    verdict = "under" if statistics.median(decisions) < TARGET_SECONDS else "NOT under"
    print(f"  decision {verdict} {TARGET_SECONDS:.0f} s, without running the resolver")


if __name__ == "__main__":
    main()
