#!/usr/bin/env python
"""How long from starting the runtime process to the operator's ``execute``? Against a bare import.

The issue's target: the time from process start to the wrapped operator's ``execute`` within 10%
of ``python -c "import airflow.sdk"`` (``import airflow`` on Airflow 2) in the same environment.
Everything runs in one target environment, interleaved, each job a fresh process:

* ``bare import``: ``python -c "import airflow.sdk; ..."``: the floor. Two numbers per run: the
  wall time to process exit (the issue's wording: the command's duration), and the moment the
  import finished (``time.time()`` printed right after it, against the spawn time).
* ``runtime -> execute``: ``python -m airflow_isolation.runtime --request F --result F`` running
  ``StampOperator``, a ``BaseOperator`` subclass (from ``airflow.sdk``; ``airflow.models`` on 2.x)
  whose ``execute`` returns ``time.time()`` as its first statement. The stamp comes back in the
  result and is checked to lie between spawn and exit; minus the spawn time (``time.time()`` just
  before ``Popen``) it is (b), the runtime's start: interpreter, runtime import, request read and
  decode, Airflow import, secrets backend, operator module import and construction, context.
  The wall time to process exit is (c), the whole runtime process (result write, ``os._exit``).
* ``runtime -> PythonOperator``: the same with the real ``PythonOperator`` (standard provider),
  the stamp taken as its callable's first statement: what wrapping a real operator adds (its
  module's import).
* ``runtime -> plain callable``: a callable shipped as source that does not mention Airflow,
  which the runtime runs without importing Airflow at all.
* ``3-line script``: ``import airflow.sdk``, import ``StampOperator``'s module, construct it, stamp:
  the least any launcher pays to reach an operator's ``execute``. Constructing an operator costs
  more than importing ``airflow.sdk`` (``BaseOperator.__init__`` imports Airflow's serialization
  and DAG models, on 2.x ``airflow.models.baseoperator`` imports Flask), so (b) against this row is
  the runtime's own share.
* ``python -c pass``: the interpreter alone.

Every process gets the environment the venv backend gives the runtime (the worker's minus every
``AIRFLOW_*`` setting, its own ``AIRFLOW_HOME``), plus ``PYTHONPATH`` pointing at the folder with
``StampOperator``'s module, the same for every job. Reported: medians and mins over ``--rounds``,
the ratios (b)/(a), and whether (b) is within 10% of (a). Nothing asserted.

Run: ``python benchmarks/runtime_start.py --environment af31 --environments-path
integration-tests/environments`` (or ``--python /path/to/venv/bin/python``). Needs
airflow-isolation-core on the host and a built environment. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from bench_context import fixed_context

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    IsolationRequest,
    OperatorSpec,
    decode_result,
    encode,
    launch,
)

STAMP_MODULE = "runtime_start_operator"
STAMP_OPERATOR_SOURCE = textwrap.dedent(
    '''\
    """Written by benchmarks/runtime_start.py: an operator whose execute stamps the time first."""
    import time

    try:
        from airflow.sdk import BaseOperator
    except ImportError:  # Airflow 2
        from airflow.models.baseoperator import BaseOperator


    class StampOperator(BaseOperator):
        def execute(self, context):
            return time.time()
    '''
)
STAMP_CALLABLE = CallableSpec(name="stamp", source="def stamp():\n    import time\n    return time.time()\n")
WITHIN = 0.10


class BenchmarkError(RuntimeError):
    """A run did not do what it should; its time would be meaningless."""


@dataclasses.dataclass(frozen=True)
class Target:
    python: Path
    airflow_major: Optional[int]  # None: no Airflow
    python_operator: Optional[str]  # the PythonOperator class path the environment has
    env: Dict[str, str]

    @property
    def bare_module(self) -> str:
        return "airflow.sdk" if self.airflow_major and self.airflow_major >= 3 else "airflow"


@dataclasses.dataclass
class Sample:
    wall: float  # spawn to process exit (perf_counter)
    cpu: float  # user + system CPU seconds of the whole process: what load on the machine barely moves
    stamp: Optional[float] = None  # spawn to the stamp (time.time())


@dataclasses.dataclass
class Series:
    key: str
    label: str
    samples: List[Sample] = dataclasses.field(default_factory=list)

    def median(self, pick: Callable[[Sample], Optional[float]]) -> Optional[float]:
        values = [v for v in map(pick, self.samples) if v is not None]
        return statistics.median(values) if values else None

    def minimum(self, pick: Callable[[Sample], Optional[float]]) -> Optional[float]:
        values = [v for v in map(pick, self.samples) if v is not None]
        return min(values) if values else None


# --------------------------------------------------------------------------------------------
# The target
# --------------------------------------------------------------------------------------------


def _probe(python: Path, code: str) -> str:
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def target_environment(python: Path, stamp_dir: Path) -> Dict[str, str]:
    """What VenvBackend gives the runtime (its own function when the operator is installed)."""
    venv = python.parent.parent
    airflow_home = venv / "airflow-home"
    airflow_home.mkdir(exist_ok=True)
    try:
        from airflow_isolation.operator.backends.venv.backend import target_environment as venv_environment

        env = venv_environment(venv, airflow_home)
    except ImportError:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        env.update({"VIRTUAL_ENV": str(venv), "AIRFLOW_HOME": str(airflow_home), "PYTHONUNBUFFERED": "1"})
        env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", os.defpath)])
    env["PYTHONPATH"] = str(stamp_dir)
    return env


def describe_target(python: Path, stamp_dir: Path) -> Target:
    version = _probe(
        python,
        "from importlib import metadata\n"
        "for d in ('apache-airflow-core', 'apache-airflow'):\n"
        "    try:\n        print(metadata.version(d)); break\n"
        "    except metadata.PackageNotFoundError:\n        pass",
    )
    major = int(version.split(".")[0]) if version else None
    python_operator = None
    for candidate in ("airflow.providers.standard.operators.python", "airflow.operators.python"):
        if (
            major
            and _probe(python, f"import importlib.util as u; print(bool(u.find_spec({candidate!r})))")
            == "True"
        ):
            python_operator = f"{candidate}.PythonOperator"
            break
    return Target(python, major, python_operator, target_environment(python, stamp_dir))


def resolve_python(args: argparse.Namespace) -> Path:
    if args.python:
        return Path(args.python)
    from airflow_isolation.workspace.environment import resolve_venv

    environments = args.environments_path or os.environ.get("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH")
    build = args.build_path or os.environ.get("AIRFLOW__ISOLATION__BUILD_PATH")
    if not environments or not build:
        raise SystemExit(
            "where are the environments? pass --environments-path and --build-path (or set "
            "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH / _BUILD_PATH, as `hatch run` does), or --python"
        )
    return Path(resolve_venv(Path(environments), Path(build), args.environment).interpreter)


# --------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------


def request_for(task: object) -> bytes:
    return encode(
        IsolationRequest(
            schema=SCHEMA_VERSION,
            task=task,  # type: ignore[arg-type]
            context=fixed_context("runtime_start", "stamp"),
        )
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def spawn(target: Target, argv: List[str], workdir: Path) -> Tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, time.time() at spawn, stdout); raises on a non-zero exit."""
    cpu_before = _children_cpu()
    spawned_at = time.time()
    started = time.perf_counter()
    done = subprocess.run(
        [str(target.python), *argv],
        env=target.env,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BenchmarkError(f"exit {done.returncode}: {' | '.join(tail)}")
    return wall, cpu, spawned_at, done.stdout


def bare_job(target: Target, workdir: Path) -> Sample:
    code = f"import {target.bare_module}\nimport time\nprint(repr(time.time()))"
    wall, cpu, spawned_at, out = spawn(target, ["-c", code], workdir)
    return Sample(wall, cpu, float(out.strip().splitlines()[-1]) - spawned_at)


def script_job(target: Target, workdir: Path) -> Sample:
    code = (
        f"import {target.bare_module}\nimport time\nfrom {STAMP_MODULE} import StampOperator\n"
        "StampOperator(task_id='stamp')\nprint(repr(time.time()))"
    )
    wall, cpu, spawned_at, out = spawn(target, ["-c", code], workdir)
    return Sample(wall, cpu, float(out.strip().splitlines()[-1]) - spawned_at)


def pass_job(target: Target, workdir: Path) -> Sample:
    wall, cpu, _, _ = spawn(target, ["-c", "pass"], workdir)
    return Sample(wall, cpu)


def runtime_job(request: bytes) -> Callable[[Target, Path], Sample]:
    def run(target: Target, workdir: Path) -> Sample:
        request_file, result_file = workdir / launch.REQUEST_FILE_NAME, workdir / launch.RESULT_FILE_NAME
        fd = os.open(request_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(request)
        result_file.unlink(missing_ok=True)
        argv = ["-m", launch.RUNTIME_MODULE, *launch.runtime_arguments(str(request_file), str(result_file))]
        wall, cpu, spawned_at, _ = spawn(target, argv, workdir)
        result = decode_result(result_file.read_bytes())
        if result.status != "success" or not isinstance(result.return_value, float):
            detail = result.error.message if result.error else repr(result.return_value)
            raise BenchmarkError(f"the runtime ended {result.status}: {detail}")
        stamp = result.return_value - spawned_at
        if not 0 < stamp < wall + 0.05:  # clocks: time.time() vs perf_counter, a little slack
            raise BenchmarkError(f"stamp {stamp:.3f}s is outside the process's life ({wall:.3f}s)")
        return Sample(wall, cpu, stamp)

    return run


@dataclasses.dataclass(frozen=True)
class Job:
    key: str
    label: str
    run: Callable[[Target, Path], Sample]


def jobs_for(target: Target) -> List[Job]:
    jobs = [Job("pass", "python -c pass", pass_job)]
    if target.airflow_major is not None:
        jobs.append(Job("bare", f'python -c "import {target.bare_module}"', bare_job))
        jobs.append(Job("script", "3-line script: import, construct StampOperator", script_job))
        operator = OperatorSpec(class_path=f"{STAMP_MODULE}.StampOperator")
        jobs.append(Job("operator", "runtime -> StampOperator.execute", runtime_job(request_for(operator))))
        if target.python_operator:
            python_operator = OperatorSpec(
                class_path=target.python_operator, kwargs={"python_callable": STAMP_CALLABLE}
            )
            jobs.append(
                Job(
                    "python_operator",
                    "runtime -> PythonOperator's callable",
                    runtime_job(request_for(python_operator)),
                )
            )
    jobs.append(
        Job(
            "callable",
            "runtime -> plain callable (no Airflow import)",
            runtime_job(request_for(STAMP_CALLABLE)),
        )
    )
    return jobs


def round_robin(jobs: List[Job], target: Target, workdir: Path, rounds: int) -> Dict[str, Series]:
    series = {job.key: Series(job.key, job.label) for job in jobs}
    for job in jobs:  # warm-up: page cache, bytecode caches
        job.run(target, workdir)
    for number in range(rounds):
        shift = number % len(jobs)
        done = []
        for job in jobs[shift:] + jobs[:shift]:
            sample = job.run(target, workdir)
            series[job.key].samples.append(sample)
            done.append(f"{job.key}={sample.wall * 1000:.0f}ms")
        print(f"round {number + 1}/{rounds}: {' '.join(done)}", file=sys.stderr, flush=True)
    return series


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value * 1000:,.1f}"


def ratio(value: Optional[float], base: Optional[float]) -> str:
    return "-" if value is None or not base else f"{value / base:.2f}x"


def report(series: Dict[str, Series], target: Target, rounds: int) -> None:
    def wall(sample: Sample) -> Optional[float]:
        return sample.wall

    def stamp(sample: Sample) -> Optional[float]:
        return sample.stamp

    def cpu(sample: Sample) -> Optional[float]:
        return sample.cpu

    bare = series.get("bare")
    base = bare.median(wall) if bare else None
    base_cpu = bare.median(cpu) if bare else None
    rows = [
        ["job", "to stamp", "min", "wall (exit)", "min", "stamp vs (a)", "wall vs (a)", "cpu", "cpu vs (a)"]
    ]
    for item in series.values():
        rows.append(
            [
                item.label,
                ms(item.median(stamp)),
                ms(item.minimum(stamp)),
                ms(item.median(wall)),
                ms(item.minimum(wall)),
                ratio(item.median(stamp), base),
                ratio(item.median(wall), base),
                ms(item.median(cpu)),
                ratio(item.median(cpu), base_cpu),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"medians over {rounds} interleaved rounds, ms; (a) = wall of the bare import")
    for index, row in enumerate(rows):
        print("  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:]))]))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "\nto stamp: spawn -> the import done (bare) / execute entered (runtime rows); wall: spawn ->"
        " process exit;\ncpu: user + system CPU time of the whole process (exit included; the runtime"
        " ends with os._exit),\nthe number load on a shared machine distorts least.\n"
    )
    operator = series.get("operator")
    if base is None or operator is None:
        return
    b, c = operator.median(stamp), operator.median(wall)
    a_stamp = bare.median(stamp) if bare else None
    script = series.get("script")
    floor = script.median(stamp) if script else None
    assert b is not None and c is not None
    verdict = "MET" if b <= base * (1 + WITHIN) else "NOT MET"
    print(f"(a) python -c 'import {target.bare_module}': {ms(base)} ms (import done at {ms(a_stamp)} ms)")
    print(f"(b) runtime start -> StampOperator.execute entered: {ms(b)} ms")
    print(f"(c) runtime process end to end: {ms(c)} ms")
    print(f"    3-line script, import + construct the same operator: {ms(floor)} ms")
    print(
        f"goal ((b) within {WITHIN:.0%} of (a)): {verdict}: (b)/(a) = {ratio(b, base)}; "
        f"(b)/(a import done) = {ratio(b, a_stamp)}; (c)/(a) = {ratio(c, base)}; "
        f"(b)/(3-line script) = {ratio(b, floor)}"
    )
    print(
        f"by min: (b)/(a) = {ratio(operator.minimum(stamp), bare.minimum(wall) if bare else None)}; "
        f"CPU of the whole process: runtime {ms(operator.median(cpu))} ms vs bare import {ms(base_cpu)} ms "
        f"({ratio(operator.median(cpu), base_cpu)}), vs 3-line script "
        f"{ratio(operator.median(cpu), script.median(cpu) if script else None)}"
    )


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Runtime start-up to execute, against a bare Airflow import")
    parser.add_argument("--environment", default="af31", help="built environment (default af31)")
    parser.add_argument("--environments-path", help="folder of environment definitions")
    parser.add_argument("--build-path", help="isolationctl build folder")
    parser.add_argument("--python", help="use this interpreter instead of an environment")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    python = resolve_python(args)
    with tempfile.TemporaryDirectory(prefix="runtime-start-") as tmp:
        workdir = Path(tmp)
        (workdir / f"{STAMP_MODULE}.py").write_text(STAMP_OPERATOR_SOURCE)
        target = describe_target(python, workdir)
        airflow = f"Airflow {target.airflow_major}.x" if target.airflow_major else "no Airflow"
        print(f"target: {python} ({airflow}); {args.rounds} rounds (+1 warm-up)\n")
        series = round_robin(jobs_for(target), target, workdir, args.rounds)
        report(series, target, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
