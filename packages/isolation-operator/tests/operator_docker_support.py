"""Helpers of the Docker backend tests: test environments, a task context, and container lookups."""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

import msgspec
import pendulum
from real_components import missing  # noqa: F401 - the operator suites import it from here

from airflow_isolation.workspace import environment as env_contract

REPO = Path(__file__).resolve().parents[3]
BASE_IMAGE = "isolation-base:bookworm"
LABEL = env_contract.LABEL_PREFIX


@dataclasses.dataclass
class TestEnvironments:
    """An ``[isolation] environments_path`` and ``build_path`` holding image-built environments."""

    __test__ = False
    definitions: Path
    builds: Path

    def add(self, name: str, image: str, pushed: Optional[List[str]] = None) -> None:
        folder = self.definitions / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / env_contract.DEFINITION_FILE).write_text('python = "3.11"\n')
        manifest = env_contract.ImageManifest(
            name=name,
            content_hash=uuid.uuid4().hex * 2,
            definition_digest=env_contract.definition_digest(self.definitions, name),
            image=image,
            image_id="",
            base_image=BASE_IMAGE,
            base_image_id="",
            python_version="3.11",
            runtime_version="test",
            platform="linux/amd64",
            built_at="2024-01-01T00:00:00Z",
            pushed=pushed or [],
        )
        path = env_contract.image_manifest_path(self.builds, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(msgspec.json.encode(manifest))


class StubTaskInstance:
    """What ``IsolatedOperator.execute`` reads from ``context["ti"]``, recording XCom pushes."""

    def __init__(self, dag_id: str, task_id: str, map_index: int = -1, try_number: int = 1):
        self.dag_id, self.task_id = dag_id, task_id
        self.run_id = "manual__2024-01-02T00:00:00+00:00"
        self.map_index, self.try_number, self.max_tries = map_index, try_number, 0
        self.start_date = pendulum.datetime(2024, 1, 2, tz="UTC")
        self.pushed: Dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        return None


def task_context(dag_id: str, task_id: str, **ti: Any) -> Dict[str, Any]:
    instance = StubTaskInstance(dag_id, task_id, **ti)
    logical_date = pendulum.datetime(2024, 1, 2, tz="UTC")
    return {
        "ti": instance,
        "task_instance": instance,
        "run_id": instance.run_id,
        "logical_date": logical_date,
        "ds": "2024-01-02",
        "ds_nodash": "20240102",
        "ts": logical_date.isoformat(),
        "params": {},
        "dag_run": None,
    }


def run_like_task_runner(operator: Any, context: Dict[str, Any]) -> Any:
    """``execute`` as Airflow's task runner calls it: execution_timeout, then on_kill, included."""
    from airflow.sdk.execution_time.task_runner import _run_execute_callable

    return _run_execute_callable(context, operator.execute, operator)


def containers_of(client: Any, dag_id: str) -> List[Any]:
    filters = {"label": [f"{LABEL}managed=true", f"{LABEL}dag-id={dag_id}"]}
    return list(client.containers.list(all=True, filters=filters, ignore_removed=True))


def container_names(client: Any) -> Set[str]:
    """Names of every container, from the engine's list alone: inspecting each (as
    ``containers.list`` does) races with containers other tests remove meanwhile."""
    return {name.lstrip("/") for found in client.api.containers(all=True) for name in found["Names"]}


def wait_for_running(client: Any, dag_id: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for container in containers_of(client, dag_id):
            if container.status == "running":
                return container
        time.sleep(0.1)
    raise AssertionError(f"no running container of {dag_id} appeared within {timeout} s")


def nap_then_note(folder: str, seconds: float) -> str:
    import pathlib
    import time

    print("napping", flush=True)
    try:
        time.sleep(seconds)
    finally:
        pathlib.Path(folder, "finally").write_text("the task's finally ran")
    return "rested"


def hog_memory() -> int:
    blocks = [b"x" * (10 * 1024 * 1024) for _ in range(30)]
    return len(blocks)


def boom() -> None:
    raise ValueError("kaboom 42")


def skip_me() -> None:
    class AirflowSkipException(Exception):  # matched by name in the runtime, as without Airflow
        pass

    raise AirflowSkipException("nothing to do today")


def kill_myself() -> None:
    import os
    import signal

    print("about to be killed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def write_half_a_result() -> None:
    """Writes the first half of a valid result where the runtime would write it, then exits: what a
    target cut off mid-write would leave (the runtime itself writes atomically)."""
    import os
    import sys

    from airflow_isolation.core import SCHEMA_VERSION, IsolationResult, encode, encode_json

    argv = sys.argv
    path = argv[argv.index("--result") + 1]
    json_format = "--result-format" in argv and argv[argv.index("--result-format") + 1] == "json"
    whole = (encode_json if json_format else encode)(
        IsolationResult(schema=SCHEMA_VERSION, status="success", return_value="x" * 1000)
    )
    with open(path, "wb") as handle:
        handle.write(whole[: len(whole) // 2])
    print(f"wrote {len(whole) // 2} of {len(whole)} bytes", flush=True)
    os._exit(0)


def payload_digest(blob: bytes) -> Dict[str, Any]:
    """What arrived (digest and length, not the bytes) and the peak memory of the target process."""
    import hashlib

    with open("/proc/self/status") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return {"sha256": hashlib.sha256(blob).hexdigest(), "length": len(blob), "peak_rss": peak_kib * 1024}
