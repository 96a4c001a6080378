"""The pod spec a target gets (``kubernetes.hardening``), as the KPO builds it: no API token, no
privilege escalation, no capabilities, ``RuntimeDefault`` seccomp, unless the task asks. That a real
cluster runs such a pod, and the probe finds nothing in it, is ``integration-tests``' kubernetes
trust test."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from airflow_isolation.operator.backends import (
    BackendJob,
    BackendOptionsError,
    TaskIdentity,
    parse_backend_options,
)
from airflow_isolation.operator.backends.kubernetes.backend import pod_operator


def _pod(options: Dict[str, Any]) -> Any:
    parsed = parse_backend_options("kubernetes", options, "isolated")
    job = BackendJob("env", TaskIdentity("d", "isolated", "r", -1, 1), parsed, {})
    kpo = pod_operator(job, b"request", "registry:5000/env:1")
    return kpo.build_pod_request_obj(None, dry_run=True)


def _container(pod: Any, name: str = "base") -> Any:
    return next(c for c in pod.spec.containers if c.name == name)


def test_a_target_pod_is_hardened_by_default() -> None:
    pod = _pod({})
    assert pod.spec.automount_service_account_token is False
    for name in ("base", "airflow-xcom-sidecar"):
        context = _container(pod, name).security_context
        assert context.allow_privilege_escalation is False, name
        assert context.capabilities.drop == ["ALL"] and not context.capabilities.add, name
        assert context.seccomp_profile.type == "RuntimeDefault", name
        assert not context.privileged, name
    assert not getattr(pod.spec.security_context, "run_as_non_root", None), "the image decides its user"


def test_the_task_loosens_or_tightens_it_one_key_at_a_time() -> None:
    pod = _pod(
        {
            "automount_service_account_token": True,
            "security_context": {"runAsNonRoot": True, "runAsUser": 1000},
            "container_security_context": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}},
        }
    )
    assert pod.spec.automount_service_account_token is True
    assert pod.spec.security_context.run_as_non_root is True and pod.spec.security_context.run_as_user == 1000
    context = _container(pod).security_context
    assert context.capabilities.add == ["NET_BIND_SERVICE"]
    assert context.allow_privilege_escalation is False and context.seccomp_profile.type == "RuntimeDefault"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"security_context": {"run_as_non_root": True}}, "camelCase keys"),
        ({"container_security_context": {"privileged": True}}, "does not get it"),
    ],
)
def test_security_options_are_checked_at_parse_time(options: Dict[str, Any], message: str) -> None:
    with pytest.raises(BackendOptionsError, match=message):
        parse_backend_options("kubernetes", options, "t")
