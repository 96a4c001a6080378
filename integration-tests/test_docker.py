"""The Docker backend end to end, against a real engine and a real registry.

The demo DAG's tasks run in an Airflow 2.10 image while the host runs Airflow 3; the conformance
suite's Docker cells live in test_conformance.py. Here: a worker without the image pulls it from
the registry the environment was pushed to.
"""

from __future__ import annotations

import subprocess
import sys

import docker.errors
from docker_standby import remove_standby_containers
from harness import (
    BASE_IMAGES,
    BUILD_PATH,
    REPO,
    docker_client,
    host_env,
    push_image,
    require_base_image,
    require_registry,
    run_dag,
)

from airflow_isolation.workspace.environment import read_image_manifest


def test_demo_runs_in_docker() -> None:
    client = docker_client()
    require_base_image(client, BASE_IMAGES["3.11"])
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--backend", "docker",
         "--base-image", BASE_IMAGES["3.11"]],
        capture_output=True, text=True, timeout=2400, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "All tasks ended as expected." in output
    assert "isolation_demo_docker" in output
    assert "2.10.5" in output, "the target's Airflow version is not shown"
    assert "1.5.3" in output, "the target's pandas 1.x version is not shown"


def test_task_pulls_the_pushed_image_from_the_registry(airflow_db: None, built_images: list[str]) -> None:
    registry = require_registry()
    client = docker_client()
    push_image("py313", registry)
    manifest = read_image_manifest(BUILD_PATH, "py313")
    assert manifest is not None
    pushed = [ref for ref in manifest.pushed if ref.startswith(f"{registry}/")]
    assert pushed, manifest

    # A pooled container waiting with this image (an earlier test's task left it for the next one)
    # keeps the image in use: removing its tags would leave the image itself behind.
    remove_standby_containers(client, BUILD_PATH)
    for tag in client.images.get(manifest.image).tags:
        client.images.remove(tag, force=True)
    try:
        client.images.get(manifest.image_id)
    except docker.errors.ImageNotFound:
        pass
    else:
        raise AssertionError("the image is still present locally, the task would not pull it")

    report = run_dag("docker_pull", host_env())
    assert report.state("where_am_i") == "success", report.output[-8000:]
    assert report.state("check_target") == "success", report.output[-8000:]
    assert client.images.get(pushed[0]).id == manifest.image_id, "the task did not run the pushed image"
