"""Which image a task's pod runs: the environment's built image, as the cluster can pull it.

A cluster cannot see the worker's Docker engine, so the local tag ``airflow-isolation/<name>:<tag>``
is only right for clusters that share it (kind/minikube with the image loaded). Order: the task's
``image`` option; the environment's ``isolationctl env push`` reference in the configured
``[isolation] image_registry`` (or its only push); ``image_registry`` + the local tag (pushed by
other means); the local tag, with a warning that says how to make it pullable.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from airflow_isolation.workspace.environment import ImageManifest


def choose_image(manifest: ImageManifest, registry: Optional[str]) -> Tuple[str, Optional[str]]:
    """``(reference, warning)`` for the environment's image."""
    registry = registry.rstrip("/") if registry else None
    pushed: List[str] = list(manifest.pushed)
    if registry:
        for ref in pushed:
            if ref.startswith(registry + "/"):
                return ref, None
        return f"{registry}/{manifest.image}", None
    if len(pushed) == 1:
        return pushed[0], None
    if pushed:
        return pushed[-1], (
            f"environment {manifest.name!r} was pushed to several registries ({', '.join(pushed)}); "
            f"using {pushed[-1]}. Set [isolation] image_registry to choose"
        )
    return manifest.image, (
        f"environment {manifest.name!r} has not been pushed to a registry, so the pod uses the local "
        f"image {manifest.image}, which only a cluster sharing this Docker engine has (kind load / "
        f"minikube image load). Run `isolationctl env push {manifest.name} --registry REGISTRY` and "
        "set [isolation] image_registry"
    )
