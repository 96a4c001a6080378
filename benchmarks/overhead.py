#!/usr/bin/env python
"""What does it cost to run a task somewhere else? One trivial callable, timed many ways.

Every variant runs the same ``trivial(x)`` with ``op_kwargs={"x": 41}`` and must return 42, so
what is measured is the machinery around the task, never the task:

* ``native``: ``PythonOperator``, in the worker's own interpreter (the floor).
* ``external``: ``ExternalPythonOperator(python=<the environment's venv python>)``.
* ``virtualenv``: ``PythonVirtualenvOperator`` with ``venv_cache_path`` (venv built once, reused).
* ``virtualenv_nocache``: ``PythonVirtualenvOperator`` without it (a new venv every run).
* ``isolated``: ``IsolatedOperator(operator=PythonOperator)``, venv backend, same environment.
* ``isolated_callable``: ``IsolatedOperator(python_callable=...)`` (what ``@task.isolated`` builds),
  same environment; plus ``isolated_plain`` on an environment without Airflow with
  ``--plain-environment``.
* ``isolated_docker``: the same callable with ``backend="docker"``, in the environment's image, in
  a container of its own (``warm: False``); ``isolated_docker_warm`` in a started, preloaded
  container of the worker's pool (its ``first`` run starts the pool; the replacement each run
  starts is waited for before the next job, untimed, so its imports never slow another variant);
  ``docker_operator`` (``DockerOperator``, the same work as ``python -c``) and ``task_docker``
  (``@task.docker``) on that very image. Left out, with the reason printed, when the host has no
  docker provider, no engine or no image (``isolationctl env build NAME --target image``).
* ``isolated_kubernetes``: the same callable with ``backend="kubernetes"``, in a pod of the image the
  backend resolves (the environment's push in ``[isolation] image_registry``);
  ``kubernetes_pod_operator`` (``KubernetesPodOperator``, the same work as ``python -c``) and
  ``task_kubernetes`` (``@task.kubernetes``) on that very image (``overhead_kubernetes.py``). Left
  out, with the reason printed, without the cncf.kubernetes provider, a pushed image or a cluster.

``external`` and the ``isolated*`` variants use the very same interpreter, the built venv of
``--environment`` as ``airflow_isolation.operator.environments.resolve_venv`` finds it, so their
difference is the operators' own overhead. The goal from the issue: IsolatedOperator's overhead
(time above ``native``) below ExternalPythonOperator's on the same environment.

Why the method looks like this: the machines are shared and noisy, so everything is interleaved
(round-robin over every variant of every measure and every probe, the starting point rotating
each round so nothing always runs first), each reported by median and min over ``--rounds``.
Each job runs once untimed first ("first" column): it pays one-time costs (imports,
PythonVirtualenvOperator's venv creation, cold page cache) that a long-lived worker pays once
too. There are no timed assertions; this prints tables.

Two measures, both in one run (``--measure``):

* ``execute``: the task only, as Airflow 3's task runner runs it (``prepare_for_execution``,
  ``render_template_fields``, then ``execute`` inside a context where ``ExecutorSafeguard`` tracks
  the operator), with a stub task instance. No database, no API server. This is the overhead a
  user sees in a task's duration.
* ``dag-test``: ``dag.test()`` of a one-task DAG per variant against a private sqlite metadata
  database (created with ``airflow db migrate``): adds DAG sync, run creation, the in-process
  execution API, XCom push and state updates. Absolute numbers, nothing subtracted.

Airflow state (database, DAGs folder, logs) goes to a private work directory so a run never
touches the user's metadata database; ``[isolation]`` settings still come from the user's
configuration (``AIRFLOW__ISOLATION__*`` or ``airflow.cfg``). Operator logs go to a file there.

Run: ``python benchmarks/overhead.py --rounds 5`` on a host with apache-airflow and the
airflow-isolation operator installed, once the environment is built
(``isolationctl env build example --target venv``). See benchmarks/README.md.
"""

from __future__ import annotations

# Only the standard library at module level: Airflow reads its settings when first imported, and
# the private database / DAGs folder must be in the environment before that happens. The DAG file
# written for the dag-test measure also imports this module to build its DAGs.
import argparse
import contextlib
import contextvars
import dataclasses
import functools
import importlib
import importlib.util
import itertools
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TextIO

from overhead_kubernetes import KUBERNETES_KEYS, kubernetes_setup

TRIVIAL_KWARGS = {"x": 41}
EXPECTED_RESULT = 42
BENCH_DAG_PREFIX = "overhead_"
DAG_FILE_NAME = "overhead_benchmark_dags.py"
# PythonVirtualenvOperator hashes this Variable into its cache key. Outside a worker the lookup
# would fall through to the (empty) metadata database; an env var answers it first. See benchmarks/README.md.
VENV_CACHE_KEY_VARIABLE = "AIRFLOW_VAR_PYTHON_VIRTUALENV_OPERATOR_CACHE_KEY"
SANDBOX_SETTING = "AIRFLOW__ISOLATION__VENV_SANDBOX"
"""The ``*_unsandboxed`` variants set it to ``off``; every other venv variant runs as the worker's
setting says (``auto``: sandboxed where the machine allows it, printed at the start)."""


def trivial(x: int) -> int:
    """The task body: as small as possible so that what is timed is the machinery around it."""
    return x + 1


class BenchmarkError(RuntimeError):
    """A variant did not produce the expected result; its times would be meaningless."""


# --------------------------------------------------------------------------------------------
# Configuration and variants
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """Everything the variants need; plain data so the generated DAG file can receive it as JSON."""

    environment: str
    target_python: str
    venv_cache_path: str
    plain_environment: Optional[str] = None
    # the environment's image (``isolationctl env build NAME --target image``); None leaves the
    # docker variants out, with ``docker_missing`` saying why
    image: Optional[str] = None
    docker_missing: Optional[str] = None
    # the image a cluster pulls (the environment's push in ``[isolation] image_registry``) and the
    # namespace; None leaves the kubernetes variants out, with ``kubernetes_missing`` saying why
    kubernetes_image: Optional[str] = None
    kubernetes_namespace: Optional[str] = None
    kubernetes_missing: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Variant:
    key: str
    label: str
    build: Callable[[Any], Any]  # DAG -> a fresh operator in it (operators are stateful)
    isolated: bool = False
    settings: Dict[str, str] = dataclasses.field(default_factory=dict)
    """Environment variables set while it runs: ``[isolation]`` settings a worker would have."""


def _python_operators() -> tuple[type, type, type]:
    try:
        from airflow.providers.standard.operators.python import (
            ExternalPythonOperator,
            PythonOperator,
            PythonVirtualenvOperator,
        )
    except ImportError:  # Airflow 2 without the standard provider
        from airflow.operators.python import (  # type: ignore[no-redef]
            ExternalPythonOperator,
            PythonOperator,
            PythonVirtualenvOperator,
        )
    return PythonOperator, ExternalPythonOperator, PythonVirtualenvOperator


def build_variants(config: BenchConfig) -> List[Variant]:
    """The operators compared, each built the way a DAG author would write it."""
    python_operator, external_operator, virtualenv_operator = _python_operators()

    def task_args(task_id: str, dag: Any) -> Dict[str, Any]:
        return {"task_id": task_id, "dag": dag, "python_callable": trivial, "op_kwargs": dict(TRIVIAL_KWARGS)}

    variants = [
        Variant(
            "native",
            "PythonOperator (in the worker process)",
            lambda dag: python_operator(**task_args("native", dag)),
        ),
        Variant(
            "external",
            f"ExternalPythonOperator (venv of {config.environment!r})",
            lambda dag: external_operator(python=config.target_python, **task_args("external", dag)),
        ),
        Variant(
            "virtualenv",
            "PythonVirtualenvOperator (venv_cache_path, no requirements)",
            lambda dag: virtualenv_operator(
                requirements=[],
                system_site_packages=False,
                venv_cache_path=config.venv_cache_path,
                **task_args("virtualenv", dag),
            ),
        ),
    ]
    for warm in (False, True):
        suffix, how = ("_warm", "warm runtime") if warm else ("", "cold start")
        variants += [
            Variant(
                f"isolated{suffix}",
                f"IsolatedOperator(operator=PythonOperator) on {config.environment!r}, {how}",
                _isolated(config.environment, warm, f"isolated{suffix}", task_args, operator=python_operator),
                isolated=True,
            ),
            Variant(
                f"isolated_callable{suffix}",
                f"IsolatedOperator(python_callable) on {config.environment!r}, {how}",
                _isolated(config.environment, warm, f"isolated_callable{suffix}", task_args),
                isolated=True,
            ),
        ]
    variants.insert(
        3,
        Variant(
            "virtualenv_nocache",
            "PythonVirtualenvOperator (no venv_cache_path: a new venv per run)",
            lambda dag: virtualenv_operator(
                requirements=[], system_site_packages=False, **task_args("virtualenv_nocache", dag)
            ),
        ),
    )
    variants += _callable_pair(
        config.environment, "isolated_callable", "_unsandboxed", task_args, {SANDBOX_SETTING: "off"}
    )
    if config.plain_environment:
        variants += _callable_pair(config.plain_environment, "isolated_plain", "", task_args)
    if config.image:
        variants += docker_variants(config, config.image, task_args)
    if config.kubernetes_image and config.kubernetes_namespace:
        from overhead_kubernetes import kubernetes_variants

        variants += kubernetes_variants(
            Variant, task_args, environment=config.environment, image=config.kubernetes_image,
            namespace=config.kubernetes_namespace, trivial=trivial, trivial_kwargs=dict(TRIVIAL_KWARGS),
        )  # fmt: skip
    return variants


def _callable_pair(
    environment: str,
    prefix: str,
    suffix: str,
    task_args: Callable[[str, Any], Dict[str, Any]],
    settings: Optional[Dict[str, str]] = None,
) -> List[Variant]:
    """``IsolatedOperator(python_callable)`` cold (``<prefix><suffix>``) and warm
    (``<prefix>_warm<suffix>``), run with ``settings`` in the environment."""
    pair = []
    for warm in (False, True):
        key = f"{prefix}{'_warm' if warm else ''}{suffix}"
        how = "warm runtime" if warm else "cold start"
        for name, value in (settings or {}).items():
            how += f", {name.rpartition('__')[2].lower()} = {value}"
        label = f"IsolatedOperator(python_callable) on {environment!r}, {how}"
        build = _isolated(environment, warm, key, task_args)
        pair.append(Variant(key, label, build, isolated=True, settings=dict(settings or {})))
    return pair


def _isolated(
    environment: str,
    warm: bool,
    task_id: str,
    task_args: Callable[[str, Any], Dict[str, Any]],
    operator: Optional[type] = None,
) -> Callable[[Any], Any]:
    """An IsolatedOperator on the venv backend, started cold or from the warm runtime."""
    from airflow_isolation.operator import IsolatedOperator

    extra: Dict[str, Any] = {} if operator is None else {"operator": operator}

    def build(dag: Any) -> Any:
        return IsolatedOperator(
            environment=environment, backend_options={"warm": warm}, **extra, **task_args(task_id, dag)
        )

    return build


# DockerOperator runs a command, not a function: the same work written as one, its value returned
# the way DockerOperator returns values (``retrieve_output``: a pickle file read with get_archive).
_DOCKER_OUTPUT = "/tmp/overhead-result.pickle"
_DOCKER_SCRIPT = (
    f"import pickle; kwargs = {TRIVIAL_KWARGS!r}; x = kwargs['x']; "
    f"pickle.dump(x + 1, open({_DOCKER_OUTPUT!r}, 'wb'))"
)


def docker_variants(
    config: BenchConfig, image: str, task_args: Callable[[str, Any], Dict[str, Any]]
) -> List[Variant]:
    """IsolatedOperator's docker backend and the docker provider's two ways, on the same image.

    All three remove their container after the run (DockerOperator: ``auto_remove="force"``) and
    use the image's Python (``/opt/isolation/venv/bin/python``, first on its ``PATH``).
    """
    from airflow.providers.docker.decorators.docker import docker_task
    from airflow.providers.docker.operators.docker import DockerOperator

    from airflow_isolation.operator import IsolatedOperator

    def task_docker(dag: Any) -> Any:
        factory = docker_task(image=image, auto_remove="force", task_id="task_docker")
        with dag:
            return factory(trivial)(**TRIVIAL_KWARGS).operator

    def isolated_docker(warm: bool) -> Variant:
        key = "isolated_docker_warm" if warm else "isolated_docker"
        how = "pooled container" if warm else "container of its own"
        options = {"warm": warm}

        def build(dag: Any) -> Any:
            arguments = task_args(key, dag)
            return IsolatedOperator(
                environment=config.environment, backend="docker", backend_options=options, **arguments
            )

        label = f"IsolatedOperator(python_callable, backend='docker') on {config.environment!r}, {how}"
        return Variant(key, label, build, isolated=True)

    return [
        isolated_docker(False),
        isolated_docker(True),
        Variant(
            "docker_operator",
            "DockerOperator (python -c, retrieve_output) on the same image",
            lambda dag: DockerOperator(
                task_id="docker_operator",
                dag=dag,
                image=image,
                command=["python", "-c", _DOCKER_SCRIPT],
                retrieve_output=True,
                retrieve_output_path=_DOCKER_OUTPUT,
                auto_remove="force",
            ),
        ),
        Variant("task_docker", "@task.docker on the same image", task_docker),
    ]


def docker_setup(environment: str) -> tuple[Optional[str], Optional[str]]:
    """(the environment's image, None) or (None, why the docker variants cannot run here)."""
    if importlib.util.find_spec("airflow.providers.docker") is None:
        return None, "apache-airflow-providers-docker is not installed on this host"
    try:
        from airflow_isolation.operator.environments import resolve_image

        image = resolve_image(environment).image
    except Exception as exc:
        return None, f"no image of {environment!r} ({_describe(exc)})"
    try:
        import docker

        client = docker.from_env()
        try:
            client.images.get(image)
        finally:
            client.close()
    except Exception as exc:
        return None, f"the Docker engine or the image {image} is not available ({_describe(exc)})"
    return image, None


def airflow_major() -> int:
    from airflow import __version__

    return int(__version__.split(".")[0])


def new_dag(dag_id: str) -> Any:
    if airflow_major() >= 3:
        from airflow.sdk import DAG
    else:
        from airflow.models.dag import DAG  # type: ignore[no-redef]
    return DAG(dag_id=dag_id, schedule=None)


def benchmark_dags(config: BenchConfig, fileloc: str) -> Dict[str, Any]:
    """One single-task DAG per variant, for the generated DAG file (dag-test measure).

    ``fileloc`` is the DAG file's path: the DAGs are built here but must look like they come from
    that file, which lives in the DAGs folder that ``dag.test()`` syncs to the database.
    """
    dags: Dict[str, Any] = {}
    for variant in build_variants(config):
        dag = new_dag(f"{BENCH_DAG_PREFIX}{variant.key}")
        dag.fileloc = fileloc
        variant.build(dag)
        dags[dag.dag_id] = dag
    return dags


# --------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    seconds: float
    # isolated variants only: "backend" (VenvBackend.run / DockerBackend.run, i.e. the target
    # process or container as the host sees it) and the runtime's own IsolationResult.timings:
    # "decode", "setup", "execute", "total".
    phases: Optional[Dict[str, float]] = None


BACKEND_CLASSES = (
    ("airflow_isolation.operator.backends.venv.backend", "VenvBackend"),
    ("airflow_isolation.operator.backends.docker.backend", "DockerBackend"),
    ("airflow_isolation.operator.backends.kubernetes.backend", "KubernetesBackend"),
)


class IsolationPhases:
    """Records how long each isolated run spent in the target process and in its phases.

    IsolatedOperator does not expose the runtime's ``timings`` (yet), so the benchmark wraps the
    result reader the operator module uses and the backends' ``run`` (venv and docker). Benchmark-only
    instrumentation, two extra function calls per run; if the operator is refactored and a name
    disappears, that part of the breakdown is simply not reported.
    """

    def __init__(self) -> None:
        self.phases: Dict[str, float] = {}

    def install(self) -> None:
        operator_module = importlib.import_module("airflow_isolation.operator.operator")
        read_result = getattr(operator_module, "read_result", None)
        if read_result is not None:

            def recording_read_result(outcome: Any) -> Any:
                result = read_result(outcome)
                timings = getattr(result, "timings", None)
                for name in ("decode", "setup", "execute", "total"):
                    if timings is not None:
                        self.phases[name] = float(getattr(timings, name))
                return result

            operator_module.read_result = recording_read_result  # type: ignore[attr-defined]
        for module_name, class_name in BACKEND_CLASSES:
            try:
                backend_class = getattr(importlib.import_module(module_name), class_name, None)
            except ImportError:  # the docker SDK or the cncf provider may be missing: not measured
                continue
            if backend_class is not None and getattr(backend_class, "run", None) is not None:
                backend_class.run = self._timed(backend_class.run)

    def _timed(self, backend_run: Callable[..., Any]) -> Callable[..., Any]:
        def timed_run(backend: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return backend_run(backend, *args, **kwargs)
            finally:
                self.phases["backend"] = time.perf_counter() - started

        return timed_run

    def take(self) -> Optional[Dict[str, float]]:
        phases, self.phases = self.phases, {}
        return phases or None


class _StubDagRun:
    conf: Dict[str, Any] = {}
    run_type = "manual"


class StubTaskInstance:
    """The parts of ``context["ti"]`` the compared operators read; XComs stay in memory."""

    def __init__(self, dag_id: str, task_id: str, run_id: str, start_date: Any) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = run_id
        self.start_date = start_date
        self.try_number = 1
        self.max_tries = 0
        self.map_index = -1
        self.xcoms: Dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any, **_: Any) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        return None


def _utc_datetime() -> Any:
    try:
        import pendulum

        return pendulum.datetime(2024, 1, 1, tz="UTC")
    except ImportError:  # pragma: no cover - Airflow always ships pendulum
        import datetime

        return datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


_RUN_NUMBERS = itertools.count(1)


def stub_context(operator: Any) -> Dict[str, Any]:
    """A minimal task context: what the task runner would pass, minus the API-server plumbing."""
    when = _utc_datetime()
    # A run of its own each time: pod operators find their pod by run labels, and would otherwise
    # adopt the previous run's pod while it is still being deleted.
    run_id = f"manual__2024-01-01T00:00:00+00:00_{next(_RUN_NUMBERS)}"
    ti = StubTaskInstance(operator.dag_id, operator.task_id, run_id, when)
    return {
        "ti": ti,
        "task_instance": ti,
        "task": operator,
        "dag": operator.dag,
        "dag_run": _StubDagRun(),
        "run_id": run_id,
        "logical_date": when,
        "data_interval_start": when,
        "data_interval_end": when,
        "ds": when.strftime("%Y-%m-%d"),
        "ds_nodash": when.strftime("%Y%m%d"),
        "ts": when.isoformat(),
        "ts_nodash": when.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": when.isoformat().replace("-", "").replace(":", ""),
        "params": {},
        "conf": None,
        "inlets": [],
        "outlets": [],
    }


def run_like_task_runner(operator: Any, context: Dict[str, Any]) -> Any:
    """Render and execute as the worker does, without its supervisor (DESIGN.md §5)."""
    prepared = operator.prepare_for_execution()
    prepared.render_template_fields(context)
    if airflow_major() >= 3:
        from airflow.sdk.bases.operator import ExecutorSafeguard

        run_context = contextvars.copy_context()
        run_context.run(ExecutorSafeguard.tracker.set, prepared)
        return run_context.run(prepared.execute, context=context)
    from airflow.models.base import _sentinel

    return prepared.execute(context=context, **{f"{type(prepared).__name__}__sentinel": _sentinel})


@contextlib.contextmanager
def env_vars(values: Dict[str, str]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for name, value in values.items():
            stack.enter_context(env_var(name, value))
        yield


@contextlib.contextmanager
def env_var(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


POOL_READY = b"ready after"
"""What a pooled container's runtime logs (on stderr) once its imports are done."""


def settle(variant: Variant, timeout: float = 180.0) -> None:
    """After a pooled docker run, untimed: wait until the replacement it started has finished its
    imports, so that work never lands inside another variant's timing on a shared machine."""
    if variant.key != "isolated_docker_warm":
        return
    import docker

    from airflow_isolation.operator.backends.docker import labels

    client = docker.from_env()
    try:
        filters = labels.label_filter({labels.STANDBY_UID: str(os.getuid())})
        filters["status"] = ["running"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = client.api.containers(filters=filters)
            if all(POOL_READY in client.api.logs(item["Id"], stdout=False, stderr=True) for item in waiting):
                return
            time.sleep(0.05)
        raise BenchmarkError(f"a pooled container was not ready within {timeout:.0f} s")
    finally:
        client.close()


class ExecuteMeasure:
    """Times one task execution: render + execute, as the task runner does, with a stub context."""

    name = "execute"
    title = "task only: prepare_for_execution + render_template_fields + execute (no DB)"

    def __init__(self, recorder: IsolationPhases) -> None:
        self.recorder = recorder

    def run_once(self, variant: Variant) -> Run:
        operator = variant.build(new_dag("overhead_benchmark"))  # building is parse time: untimed
        context = stub_context(operator)
        self.recorder.take()
        with env_var(VENV_CACHE_KEY_VARIABLE, ""), env_vars(variant.settings):
            started = time.perf_counter()
            value = run_like_task_runner(operator, context)
            seconds = time.perf_counter() - started
        if value != EXPECTED_RESULT:
            raise BenchmarkError(f"{variant.key} returned {value!r}, expected {EXPECTED_RESULT}")
        phases = self.recorder.take() if variant.isolated else None
        settle(variant)
        return Run(seconds, phases)


class DagTestMeasure:
    """Times ``dag.test()`` of a one-task DAG per variant against a private metadata database."""

    name = "dag-test"
    title = "dag.test() of a one-task DAG (DAG sync, run creation, execution API, XCom, state)"

    def __init__(self, config: BenchConfig, dags_folder: Path, recorder: IsolationPhases) -> None:
        self.recorder = recorder
        self.migrate_seconds = migrate_database()
        dag_file = dags_folder / DAG_FILE_NAME
        dags_folder.mkdir(parents=True, exist_ok=True)
        dag_file.write_text(dag_file_source(config))
        spec = importlib.util.spec_from_file_location("overhead_benchmark_dags", dag_file)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.dags = {
            name[len(BENCH_DAG_PREFIX) :]: dag
            for name, dag in vars(module).items()
            if name.startswith(BENCH_DAG_PREFIX)
        }

    def run_once(self, variant: Variant) -> Run:
        dag = self.dags[variant.key]
        self.recorder.take()
        with env_vars(variant.settings):
            started = time.perf_counter()
            dag_run = dag.test()
            seconds = time.perf_counter() - started
        state = str(getattr(dag_run, "state", None))
        if not state.endswith("success"):
            raise BenchmarkError(f"dag.test() of {dag.dag_id} ended in state {state!r}")
        phases = self.recorder.take() if variant.isolated else None
        settle(variant)
        return Run(seconds, phases)


def dag_file_source(config: BenchConfig) -> str:
    """A DAG file in the private DAGs folder; its DAGs come from this module (one definition)."""
    return textwrap.dedent(
        f'''\
        """Written by benchmarks/overhead.py for its dag-test measure; safe to delete."""
        import json
        import sys

        if {str(Path(__file__).resolve().parent)!r} not in sys.path:
            sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})

        import overhead

        _config = overhead.BenchConfig(**json.loads({json.dumps(dataclasses.asdict(config))!r}))
        globals().update(overhead.benchmark_dags(_config, __file__))
        '''
    )


def migrate_database() -> float:
    """``airflow db migrate`` on the private database; dag.test() needs the tables."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-20:])
        raise BenchmarkError(f"`airflow db migrate` failed (exit {done.returncode}):\n{tail}")
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# Round-robin driver
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Series:
    """All runs of one variant (or probe) in one measure."""

    key: str
    label: str
    first: Optional[float] = None
    runs: List[Run] = dataclasses.field(default_factory=list)
    errors: List[str] = dataclasses.field(default_factory=list)

    @property
    def seconds(self) -> List[float]:
        return [run.seconds for run in self.runs]

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.seconds) if self.runs else None

    @property
    def minimum(self) -> Optional[float]:
        return min(self.seconds) if self.runs else None

    def phase_median(self, phase: Callable[[Run, Dict[str, float]], float]) -> Optional[float]:
        """Median of ``phase(run, run.phases)`` over the runs whose phases were all recorded."""
        values = [phase(run, run.phases) for run in self.runs if run.phases and set(run.phases) >= _COMPLETE]
        return statistics.median(values) if values else None


DOCKER_KEYS = ("isolated_docker", "isolated_docker_warm", "docker_operator", "task_docker")

_COMPLETE = frozenset({"backend", "decode", "setup", "execute", "total"})


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= 300 else text[:297] + "..."


@dataclasses.dataclass(frozen=True)
class Job:
    """One thing to time repeatedly: a variant under a measure, or a probe."""

    group: str  # "execute", "dag-test" or "probes"
    key: str
    label: str
    run: Callable[[], Run]


def round_robin(jobs: Sequence[Job], rounds: int) -> Dict[str, Dict[str, Series]]:
    """One untimed warm-up per job, then ``rounds`` interleaved rounds with a rotating start.

    Every job of every measure and every probe takes part in each round, so slow phases of a
    shared machine spread over all numbers instead of skewing one table.
    """
    series = {(job.group, job.key): Series(job.key, job.label) for job in jobs}
    for job in jobs:
        try:
            series[job.group, job.key].first = job.run().seconds
        except Exception as exc:
            series[job.group, job.key].errors.append(_describe(exc))
            progress(f"{job.group}: {job.key} failed in its warm-up run, left out: {_describe(exc)}")
    active = [job for job in jobs if not series[job.group, job.key].errors]
    for number in range(rounds):
        shift = number % len(active) if active else 0
        done = []
        for job in active[shift:] + active[:shift]:
            try:
                run = job.run()
            except Exception as exc:
                series[job.group, job.key].errors.append(_describe(exc))
                done.append(f"{job.group}:{job.key}=FAILED")
                continue
            series[job.group, job.key].runs.append(run)
            done.append(f"{job.group}:{job.key}={run.seconds * 1000:.0f}ms")
        progress(f"round {number + 1}/{rounds}: {' '.join(done)}")
    grouped: Dict[str, Dict[str, Series]] = {}
    for job in jobs:
        grouped.setdefault(job.group, {})[job.key] = series[job.group, job.key]
    return grouped


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Probes: where the time of a target process goes
# --------------------------------------------------------------------------------------------

# What ExternalPythonOperator (expect_airflow=True) runs in the target before every task...
_EXTERNAL_VERSION_PROBE = "from importlib.metadata import version\nprint(version('apache-airflow'))"
# ...and how the script it runs the callable with starts.
_EXTERNAL_PREAMBLE = (
    "import os\nos.environ['PYTHON_OPERATORS_VIRTUAL_ENV_MODE'] = '1'\n"
    "from airflow.plugins_manager import integrate_macros_plugins\nintegrate_macros_plugins()"
)


@dataclasses.dataclass(frozen=True)
class Probe:
    key: str
    label: str
    interpreter: str
    argv: List[str]
    env: Dict[str, str]


def probes_for(environment: str, interpreter: str, venv_path: str, with_airflow: bool) -> List[Probe]:
    """Target-process start-up costs, in the environment exactly as each operator launches it.

    ``isolated`` probes get the environment VenvBackend gives the runtime; ``worker`` probes
    inherit this process's environment, as ExternalPythonOperator's subprocesses do.
    """
    from airflow_isolation.core.launch import RUNTIME_MODULE
    from airflow_isolation.operator.backends.venv.backend import target_environment

    operator_module = _python_operators()[0].__module__
    envs = {
        "isolated": target_environment(Path(venv_path), Path(venv_path) / "airflow-home"),
        "worker": dict(os.environ),
    }
    specs = [
        ("start", "interpreter start (python -c pass)", ["-c", "pass"], "isolated"),
        (
            "runtime",
            f"start + import runtime (-m {RUNTIME_MODULE} --version)",
            ["-m", RUNTIME_MODULE, "--version"],
            "isolated",
        ),
    ]
    if with_airflow:
        specs += [
            ("airflow", "start + import airflow", ["-c", "import airflow"], "isolated"),
            (
                "operator",
                f"start + import {operator_module}",
                ["-c", f"import {operator_module}"],
                "isolated",
            ),
            (
                "operator-noexit",
                f"start + import {operator_module}, os._exit",
                ["-c", f"import os, {operator_module}; os._exit(0)"],
                "isolated",
            ),
            (
                "ext-version",
                "ExternalPythonOperator check 1: Airflow version",
                ["-c", _EXTERNAL_VERSION_PROBE],
                "worker",
            ),
            (
                "ext-pendulum",
                "ExternalPythonOperator check 2: import pendulum",
                ["-c", "import pendulum"],
                "worker",
            ),
            (
                "ext-preamble",
                "ExternalPythonOperator script preamble (plugins)",
                ["-c", _EXTERNAL_PREAMBLE],
                "worker",
            ),
        ]
    return [
        Probe(f"{environment}:{key}", label, interpreter, argv, envs[env]) for key, label, argv, env in specs
    ]


def run_probe(probe: Probe) -> Run:
    started = time.perf_counter()
    done = subprocess.run(
        [probe.interpreter, *probe.argv],
        env=probe.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchmarkError(f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    return Run(seconds)


def target_description(interpreter: str) -> str:
    script = textwrap.dedent(
        """\
        import sys
        from importlib import metadata
        try:
            version = metadata.version("apache-airflow")
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"Python {sys.version.split()[0]}, Airflow {version}")
        """
    )
    done = subprocess.run([interpreter, "-c", script], capture_output=True, text=True, check=False)
    return done.stdout.strip() or f"unknown ({done.stderr.strip()[-200:]})"


def has_airflow(interpreter: str) -> bool:
    done = subprocess.run(
        [
            interpreter,
            "-c",
            "import importlib.util, sys; sys.exit(importlib.util.find_spec('airflow') is None)",
        ],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def ms(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.1f}"


def ratio(value: Optional[float], base: Optional[float]) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:,.2f}x"


class Table:
    """Plain text unless rich is installed and stdout is a terminal: the output must paste well."""

    def __init__(self, title: str, headers: Sequence[str], use_rich: bool) -> None:
        self.title = title
        self.headers = list(headers)
        self.rows: List[List[str]] = []
        self.use_rich = use_rich

    def add(self, *cells: str) -> None:
        self.rows.append(list(cells))

    def print(self) -> None:
        if self.use_rich:
            from rich.console import Console
            from rich.table import Table as RichTable

            table = RichTable(title=self.title, title_justify="left")
            for index, header in enumerate(self.headers):
                table.add_column(header, justify="left" if index == 0 else "right")
            for row in self.rows:
                table.add_row(*row)
            Console().print(table)
            return
        widths = [max(len(row[i]) for row in [self.headers, *self.rows]) for i in range(len(self.headers))]

        def line(cells: Sequence[str]) -> str:
            first = cells[0].ljust(widths[0])
            return "  ".join([first, *(cell.rjust(width) for cell, width in zip(cells[1:], widths[1:]))])

        print(self.title)
        print(line(self.headers))
        print("  ".join("-" * width for width in widths))
        for row in self.rows:
            print(line(row))
        print()


def report_measure(measure_title: str, series: Dict[str, Series], rounds: int, use_rich: bool) -> None:
    native = series.get("native")
    external = series.get("external")
    native_median = native.median if native else None
    external_median = external.median if external else None
    table = Table(
        f"[{measure_title}] wall time in ms over {rounds} interleaved rounds",
        ["variant", "median", "min", "first", "-native", "vs native", "vs external", "runs"],
        use_rich,
    )
    for item in series.values():
        overhead = None if item.median is None or native_median is None else item.median - native_median
        runs = f"{len(item.runs)}" + (f" ({len(item.errors)} failed)" if item.errors else "")
        table.add(
            item.label,
            ms(item.median),
            ms(item.minimum),
            ms(item.first),
            ms(overhead),
            ratio(item.median, native_median),
            ratio(item.median, external_median),
            runs,
        )
    table.print()
    for item in series.values():
        for error in dict.fromkeys(item.errors):
            print(f"  ! {item.key}: {error}")
    print_goal(series)


def print_goal(series: Dict[str, Series]) -> None:
    """The issue's goal, stated with numbers (a verdict, not an assertion)."""
    print_no_slower_goal(series, "isolated_docker_warm", "docker_operator",
                         "isolated_docker_warm <= DockerOperator on the same image")  # fmt: skip
    native, external = series.get("native"), series.get("external")
    if native is not None and native.median is not None:
        print_sandbox_goals(series, native.median)
    if not native or not external:
        print("  goal: not evaluated (needs the native and external variants)\n")
        return
    if native.median is None or external.median is None:
        print("  goal: cannot tell (native or external has no successful run)\n")
        return
    for key in ("isolated", "isolated_callable", "isolated_warm", "isolated_callable_warm"):
        item = series.get(key)
        if item is None or item.median is None or item.minimum is None:
            continue
        mine = item.median - native.median
        theirs = external.median - native.median
        mine_min = item.minimum - (native.minimum or 0.0)
        theirs_min = external.minimum - (native.minimum or 0.0) if external.minimum is not None else None
        verdict = "MET" if mine < theirs else "NOT MET"
        print(
            f"  goal ({key} overhead < external overhead): {verdict} by median: {ms(mine)} ms vs "
            f"{ms(theirs)} ms ({ratio(mine, theirs)}); by min: {ms(mine_min)} ms vs {ms(theirs_min)} ms"
        )
    print_warm_goals(series, native.median, external.median)
    print()


def print_warm_goals(series: Dict[str, Series], native: float, external: float) -> None:
    """Issue 14: a warm start costs what a native one does (verdicts with numbers, no assertion)."""
    warm = series.get("isolated_warm")
    if warm is not None and warm.median is not None:
        mine, theirs = warm.median - native, external - native
        verdict = "MET" if mine <= 0.05 * theirs and mine < 0.050 else "NOT MET"
        print(
            f"  goal (isolated_warm overhead <= 0.05x external's and < 50 ms): {verdict}: {ms(mine)} ms vs "
            f"{ms(theirs)} ms ({ratio(mine, theirs)})"
        )
    print_no_slower_goal(series, "isolated_callable_warm", "virtualenv",
                         "@task.isolated warm <= cached PythonVirtualenvOperator")  # fmt: skip


def print_sandbox_goals(series: Dict[str, Series], native: float) -> None:
    """Issue 19: the sandbox keeps warm starts warm (overhead under 50 ms sandboxed) and costs a
    cold start at most 20 ms, both beside the unsandboxed figure of the same run."""
    pairs = (
        ("isolated_callable_warm", "isolated_callable_warm_unsandboxed", "warm"),
        ("isolated_callable", "isolated_callable_unsandboxed", "cold"),
    )
    for sandboxed_key, unsandboxed_key, how in pairs:
        sandboxed, unsandboxed = series.get(sandboxed_key), series.get(unsandboxed_key)
        if sandboxed is None or unsandboxed is None or sandboxed.median is None or unsandboxed.median is None:
            continue
        extra = sandboxed.median - unsandboxed.median
        if how == "warm":
            overhead = sandboxed.median - native
            verdict = "MET" if overhead < 0.050 else "NOT MET"
            print(
                f"  goal (sandboxed warm overhead over native < 50 ms): {verdict}: {ms(overhead)} ms "
                f"sandboxed vs {ms(unsandboxed.median - native)} ms unsandboxed (+{ms(extra)} ms)"
            )
        else:
            verdict = "MET" if extra <= 0.020 else "NOT MET"
            print(
                f"  goal (sandboxed cold start <= unsandboxed + 20 ms): {verdict}: {ms(sandboxed.median)} ms "
                f"vs {ms(unsandboxed.median)} ms ({'+' if extra >= 0 else ''}{ms(extra)} ms)"
            )


def print_no_slower_goal(series: Dict[str, Series], mine_key: str, peer_key: str, goal: str) -> None:
    """The verdict of "``mine_key`` takes at most what ``peer_key`` takes", by medians."""
    mine, peer = series.get(mine_key), series.get(peer_key)
    mine_median = mine.median if mine is not None else None
    peer_median = peer.median if peer is not None else None
    if mine_median is not None and peer_median is not None:
        verdict = "MET" if mine_median <= peer_median else "NOT MET"
        print(
            f"  goal ({goal}): {verdict}: {ms(mine_median)} ms vs {ms(peer_median)} ms "
            f"({ratio(mine_median, peer_median)})"
        )


# Each isolated variant against the operators a user would otherwise pick for the same job.
PEERS = (
    ("isolated", "external"),
    ("isolated_warm", "external"),
    ("isolated_callable", "external"),
    ("isolated_callable_warm", "external"),
    ("isolated_callable", "virtualenv"),
    ("isolated_callable_warm", "virtualenv"),
    ("isolated_callable", "isolated_callable_unsandboxed"),
    ("isolated_callable_warm", "isolated_callable_warm_unsandboxed"),
    ("isolated_plain", "virtualenv"),
    ("isolated_plain_warm", "virtualenv"),
    ("isolated_plain", "virtualenv_nocache"),
    ("isolated_docker", "docker_operator"),
    ("isolated_docker_warm", "docker_operator"),
    ("isolated_docker", "task_docker"),
    ("isolated_docker_warm", "task_docker"),
    ("isolated_kubernetes", "kubernetes_pod_operator"),
    ("isolated_kubernetes", "task_kubernetes"),
)


def report_peers(measure_title: str, series: Dict[str, Series], use_rich: bool) -> None:
    """Side by side: each isolated backend against its natural peer (same environment or image)."""
    native = series.get("native")
    native_median = native.median if native else None
    table = Table(
        f"[{measure_title}] IsolatedOperator against its peers (medians, ms)",
        ["isolated", "peer", "isolated ms", "peer ms", "time ratio", "overhead ratio"],
        use_rich,
    )
    for mine_key, peer_key in PEERS:
        mine, peer = series.get(mine_key), series.get(peer_key)
        if mine is None or peer is None or mine.median is None or peer.median is None:
            continue
        overheads = (
            (mine.median - native_median, peer.median - native_median)
            if native_median is not None
            else (None, None)
        )
        table.add(mine_key, peer_key, ms(mine.median), ms(peer.median), ratio(mine.median, peer.median),
                  ratio(*overheads))  # fmt: skip
    if table.rows:
        table.print()
        print("  time ratio = isolated / peer; overhead ratio = (isolated - native) / (peer - native);\n"
              "  below 1.00x: IsolatedOperator is the cheaper way to run the same task.\n")  # fmt: skip


def report_breakdown(measure_title: str, series: Dict[str, Series], use_rich: bool) -> None:
    """Split each isolated run: host side, target process around the runtime, runtime phases."""
    isolated = [item for item in series.values() if item.phase_median(lambda _, p: p["total"]) is not None]
    if not isolated:
        return
    table = Table(
        f"[{measure_title}] where IsolatedOperator's time goes (medians, ms)",
        ["variant", "wall", "host", "process", "decode", "setup", "execute", "runtime total"],
        use_rich,
    )
    for item in isolated:
        table.add(
            item.label,
            ms(item.median),
            ms(item.phase_median(lambda run, p: run.seconds - p["backend"])),
            ms(item.phase_median(lambda _, p: p["backend"] - p["total"])),
            ms(item.phase_median(lambda _, p: p["decode"])),
            ms(item.phase_median(lambda _, p: p["setup"])),
            ms(item.phase_median(lambda _, p: p["execute"])),
            ms(item.phase_median(lambda _, p: p["total"])),
        )
    table.print()
    print(
        "  host = wall - backend run: request build + encode, result decode + apply, in the worker\n"
        "  (for dag-test also all of dag.test()'s own work: compare its native row).\n"
        "  process = backend run - runtime total: spawn (docker: container create, request copy, start,\n"
        "  wait, result copy, removal), interpreter start, runtime import, result write, interpreter\n"
        "  exit (compare the 'start + import runtime' probe, and the exit cost of a big import graph:\n"
        "  'import <operator module>' with and without os._exit).\n"
        "  decode / setup / execute: the runtime's own timings; setup = Airflow import, secrets and\n"
        "  operator construction in the target (compare the 'import airflow' probes).\n"
    )


def report_probes(probes: Dict[str, Series], rounds: int, use_rich: bool) -> None:
    if not probes:
        return
    table = Table(
        f"[probes] target process start-up, wall ms over {rounds} interleaved rounds",
        ["probe", "median", "min"],
        use_rich,
    )
    for item in probes.values():
        label = f"{item.key.split(':')[0]}: {item.label}"
        table.add(label, ms(item.median), ms(item.minimum))
    table.print()
    for item in probes.values():
        for error in dict.fromkeys(item.errors):
            print(f"  ! {item.key}: {error}")


# --------------------------------------------------------------------------------------------
# Setup and main
# --------------------------------------------------------------------------------------------


def private_airflow_state(workdir: Path) -> None:
    """Point Airflow's database, DAGs folder and logs at ``workdir`` before Airflow is imported.

    Env vars override airflow.cfg, so the user's ``[isolation]`` settings still apply while their
    metadata database is never written to.
    """
    bundles = [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {},
        }
    ]
    os.environ.update(
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{workdir / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(workdir / "dags"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(workdir / "logs"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        }
    )


def send_logs_to(handle: TextIO) -> None:
    """Operator logs go to a file: they are part of the cost, but not of the report."""
    if airflow_major() >= 3:
        from airflow.sdk.log import configure_logging

        configure_logging(output=handle, colored_console_log=False)
        return
    handler = logging.StreamHandler(handle)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("", "airflow", "airflow.task", "airflow.processor"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = name == ""


def print_targets(config: BenchConfig, manifest: Any, plain_manifest: Any) -> None:
    description = target_description(config.target_python)
    print(f"environment {config.environment!r}: {manifest.venv_path} ({description})")
    if plain_manifest is not None:
        print(
            f"environment {config.plain_environment!r}: {plain_manifest.venv_path} "
            f"({target_description(str(plain_manifest.interpreter))})"
        )
    if config.image:
        print(f"docker variants: image {config.image} of {config.environment!r}")
    else:
        print(f"docker variants: left out, {config.docker_missing}")
    if config.kubernetes_image:
        where = f"image {config.kubernetes_image}, namespace {config.kubernetes_namespace}"
        print(f"kubernetes variants: {where}")
    else:
        print(f"kubernetes variants: left out, {config.kubernetes_missing}")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Overhead of ExternalPythonOperator, PythonVirtualenvOperator and IsolatedOperator "
        "against a native PythonOperator, for one trivial callable.",
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per measure (default 5)")
    parser.add_argument(
        "--environment", default="example", help="built environment to compare on (default example)"
    )
    parser.add_argument(
        "--plain-environment", help="also run the callable on this environment (e.g. one without Airflow)"
    )
    parser.add_argument(
        "--measure",
        choices=("execute", "dag-test", "both"),
        default="both",
        help="execute: the task only; dag-test: dag.test() of one-task DAGs (runs `airflow db migrate` "
        "on a private sqlite file first); default both",
    )
    parser.add_argument("--variants", help="comma-separated subset, e.g. native,external,isolated")
    parser.add_argument("--no-probes", action="store_true", help="skip the target start-up probes")
    parser.add_argument("--venv-cache-path", help="PythonVirtualenvOperator cache (default: in the work dir)")
    parser.add_argument("--workdir", help="where the private Airflow state and logs go (default: a temp dir)")
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the work dir (operator logs) at the end"
    )
    parser.add_argument("--json", dest="json_path", help="also write every sample to this JSON file")
    parser.add_argument("--plain", action="store_true", help="plain-text tables even when rich is available")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def use_rich(plain: bool) -> bool:
    return not plain and sys.stdout.isatty() and importlib.util.find_spec("rich") is not None


Unavailable = Dict[Sequence[str], Optional[str]]
"""A group of variant keys -> why they cannot run here."""


def select(
    variants: List[Variant], wanted: Optional[str], missing: Optional[Unavailable] = None
) -> List[Variant]:
    """The variants ``--variants`` names; ``missing`` maps a group of keys to why it cannot run."""
    if not wanted:
        return variants
    keys = [key.strip() for key in wanted.split(",") if key.strip()]
    known = {variant.key for variant in variants}
    for group, why in (missing or {}).items():
        unavailable = [key for key in keys if key in group and key not in known]
        if unavailable:
            raise SystemExit(f"cannot run {', '.join(unavailable)}: {why}")
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    return [variant for variant in variants if variant.key in keys]


def measure_jobs(measure: Any, variants: List[Variant]) -> List[Job]:
    return [
        Job(measure.name, variant.key, variant.label, functools.partial(measure.run_once, variant))
        for variant in variants
    ]


def probe_jobs(probes: List[Probe]) -> List[Job]:
    return [Job("probes", probe.key, probe.label, functools.partial(run_probe, probe)) for probe in probes]


def _memory_mib(pid: int) -> Dict[str, float]:
    """``VmRSS`` and ``Pss`` of one process in MiB (Linux ``/proc``); empty when it is gone."""
    fields: Dict[str, float] = {}
    try:
        for source in ("status", "smaps_rollup"):
            for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "Pss") and value.strip().endswith("kB"):
                    fields[key] = int(value.split()[0]) / 1024
    except (OSError, ValueError):
        return {}
    return fields


def _sandbox_processes(pid: int) -> List[int]:
    """The bubblewrap processes above a sandboxed warm runtime (its monitor outside the sandbox and
    the sandbox's PID 1): what the sandbox adds to a warm runtime's memory."""
    found: List[int] = []
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return found
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        try:
            if Path(f"/proc/{parent}/comm").read_text().strip() != "bwrap":
                return found
        except OSError:
            return found
        found.append(parent)
        pid = parent


def warm_runtime_memory(name: str, manifest: Any) -> List[Dict[str, Any]]:
    """RSS and PSS of the warm runtime(s) of an environment build, and of the bubblewrap processes
    that hold a sandboxed one (Linux ``/proc``)."""
    from airflow_isolation.workspace.warm import running

    found = []
    for process in running(manifest):
        fields = _memory_mib(process.pid)
        if not fields:
            continue
        sandbox = [_memory_mib(pid) for pid in _sandbox_processes(process.pid)]
        found.append({
            "environment": name, "pid": process.pid, "sandboxed": bool(sandbox),
            "rss_mib": fields.get("VmRSS"), "pss_mib": fields.get("Pss"),
            "sandbox_rss_mib": sum(each.get("VmRSS", 0.0) for each in sandbox),
            "sandbox_pss_mib": sum(each.get("Pss", 0.0) for each in sandbox),
        })  # fmt: skip
    for item in found:
        where = (
            f"sandboxed, plus {item['sandbox_rss_mib']:.1f} MiB RSS (PSS {item['sandbox_pss_mib']:.1f} MiB) "
            "in its two bubblewrap processes"
            if item["sandboxed"]
            else "unsandboxed"
        )
        print(
            f"warm runtime of {name!r}: pid {item['pid']}, RSS {item['rss_mib'] or 0:.1f} MiB "
            f"(PSS {item['pss_mib'] or 0:.1f} MiB), {where}; it idles out on its own"
        )
    return found


def pooled_container_memory(grouped: Dict[str, Dict[str, Series]]) -> List[Dict[str, Any]]:
    """Memory of each waiting pooled container of this user (Docker backend), as ``docker stats``
    counts it (cgroup usage minus inactive page cache): what one waiting container costs. Only
    when ``isolated_docker_warm`` ran."""
    found: List[Dict[str, Any]] = []
    if not any("isolated_docker_warm" in series for series in grouped.values()):
        return found
    import docker

    from airflow_isolation.operator.backends.docker import labels

    try:
        client = docker.from_env()
    except Exception:
        return found
    try:
        filters = labels.label_filter({labels.STANDBY_UID: str(os.getuid())})
        filters["status"] = ["running"]
        for item in client.api.containers(filters=filters):
            memory = client.api.stats(item["Id"], stream=False).get("memory_stats") or {}
            used = memory.get("usage", 0) - (memory.get("stats") or {}).get("inactive_file", 0)
            environment = (item.get("Labels") or {}).get(labels.ENVIRONMENT, "?")
            found.append({"environment": environment, "container": item["Id"][:12], "mib": used / 2**20})
            print(
                f"pooled container of {environment!r}: {item['Id'][:12]}, {used / 2**20:.1f} MiB while "
                "waiting; it idles out on its own"
            )
    finally:
        client.close()
    return found


def report_warm_runtimes(
    args: argparse.Namespace, manifest: Any, plain_manifest: Any
) -> List[Dict[str, Any]]:
    found = warm_runtime_memory(args.environment, manifest)
    if plain_manifest is not None:
        found += warm_runtime_memory(args.plain_environment, plain_manifest)
    return found


def print_setup(config: BenchConfig, workdir: Path, rounds: int) -> None:
    print(f"venv sandbox: {sandbox_description()}")
    print(f"PythonVirtualenvOperator cache: {config.venv_cache_path}")
    print(f"operator logs: {workdir / 'operators.log'}")
    print(f"rounds: {rounds} (+1 untimed warm-up per variant, the 'first' column)\n")


def sandbox_description() -> str:
    """Whether the venv variants without ``_unsandboxed`` run sandboxed here, and why."""
    from airflow_isolation.operator.config.settings import venv_sandbox
    from airflow_isolation.workspace.sandbox import availability

    mode = venv_sandbox()
    found = availability()
    if mode == "off":
        return "off ([isolation] venv_sandbox = off): every venv variant runs unsandboxed"
    state = "sandboxed" if found.usable else "UNSANDBOXED"
    return f"{state} (venv_sandbox = {mode}; {found.reason}); the *_unsandboxed variants set it off"


def resolve_target(name: str) -> Any:
    from airflow_isolation.operator.environments import resolve_venv

    return resolve_venv(name)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="airflow-isolation-overhead-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    private_airflow_state(workdir)
    log_path = workdir / "operators.log"
    try:
        with open(log_path, "a", encoding="utf-8") as log_handle:
            return benchmark(args, workdir, log_handle)
    finally:
        if args.keep_workdir:
            print(f"work dir kept: {workdir} (operator logs: {log_path})")
        elif not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def bench_config(args: argparse.Namespace, workdir: Path, target_python: str) -> BenchConfig:
    """What the variants run on; the docker and kubernetes setups are only probed when selected."""
    wants_docker = not args.variants or any(key in args.variants for key in DOCKER_KEYS)
    image, docker_missing = docker_setup(args.environment) if wants_docker else (None, "not selected")
    wants_kubernetes = not args.variants or any(key in args.variants for key in KUBERNETES_KEYS)
    kubernetes_image, namespace, kubernetes_missing = (
        kubernetes_setup(args.environment) if wants_kubernetes else (None, None, "not selected")
    )
    return BenchConfig(
        environment=args.environment,
        target_python=target_python,
        venv_cache_path=str(
            Path(args.venv_cache_path).resolve() if args.venv_cache_path else workdir / "venv-cache"
        ),
        plain_environment=args.plain_environment,
        image=image,
        docker_missing=docker_missing,
        kubernetes_image=kubernetes_image,
        kubernetes_namespace=namespace,
        kubernetes_missing=kubernetes_missing,
    )


def benchmark(args: argparse.Namespace, workdir: Path, log_handle: TextIO) -> int:
    from airflow import __version__ as airflow_version

    manifest = resolve_target(args.environment)
    plain_manifest = resolve_target(args.plain_environment) if args.plain_environment else None
    config = bench_config(args, workdir, str(manifest.interpreter))
    missing = {DOCKER_KEYS: config.docker_missing, KUBERNETES_KEYS: config.kubernetes_missing}
    variants = select(build_variants(config), args.variants, missing)
    send_logs_to(log_handle)
    recorder = IsolationPhases()
    recorder.install()
    rich_output = use_rich(args.plain)

    print(f"host: Python {sys.version.split()[0]}, Airflow {airflow_version}")
    print_targets(config, manifest, plain_manifest)
    print_setup(config, workdir, args.rounds)

    json_out: Dict[str, Any] = {
        "host": {"python": sys.version.split()[0], "airflow": airflow_version},
        "config": dataclasses.asdict(config),
        "rounds": args.rounds,
        "measures": {},
    }
    jobs: List[Job] = []
    titles: Dict[str, str] = {}
    if args.measure in ("execute", "both"):
        measure = ExecuteMeasure(recorder)
        titles[measure.name] = measure.title
        jobs += measure_jobs(measure, variants)
    if args.measure in ("dag-test", "both"):
        dag_measure = DagTestMeasure(config, workdir / "dags", recorder)
        progress(f"dag-test: private metadata database migrated in {dag_measure.migrate_seconds:.1f}s")
        titles[dag_measure.name] = dag_measure.title
        jobs += measure_jobs(dag_measure, variants)
    if not args.no_probes:
        jobs += probe_jobs(
            probes_for(
                args.environment, config.target_python, manifest.venv_path, has_airflow(config.target_python)
            )
        )
        if plain_manifest is not None:
            plain_python = str(plain_manifest.interpreter)
            jobs += probe_jobs(
                probes_for(
                    args.plain_environment, plain_python, plain_manifest.venv_path, has_airflow(plain_python)
                )
            )
    grouped = round_robin(jobs, args.rounds)
    for group, series_of_group in grouped.items():
        json_out["measures"][group] = {key: dataclasses.asdict(item) for key, item in series_of_group.items()}
    results = [(titles[name], grouped[name]) for name in titles if name in grouped]
    probes = grouped.get("probes", {})

    print()
    for title, series in results:
        report_measure(title, series, args.rounds, rich_output)
    for title, series in results:
        report_peers(title, series, rich_output)
    for title, series in results:
        report_breakdown(title, series, rich_output)
    report_probes(probes, args.rounds, rich_output)
    virtualenv = results[0][1].get("virtualenv") if results else None
    if virtualenv is not None and virtualenv.first is not None and virtualenv.median is not None:
        print(
            f"PythonVirtualenvOperator's first run, venv creation included: {ms(virtualenv.first)} ms "
            f"(a cached run: {ms(virtualenv.median)} ms)"
        )
    json_out["warm_runtimes"] = report_warm_runtimes(args, manifest, plain_manifest)
    json_out["pooled_containers"] = pooled_container_memory(grouped)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(json_out, indent=2))
        print(f"samples written to {args.json_path}")
    failed = any(item.errors for series in grouped.values() for item in series.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
