"""Resuming a deferred run: which KPO method takes the event, and what a passed deadline means."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from airflow_isolation.operator.airflow_compat import AirflowException
from airflow_isolation.operator.backends import BackendJob, TaskIdentity
from airflow_isolation.operator.backends.kubernetes import backend
from airflow_isolation.operator.backends.kubernetes.backend import KubernetesBackend, KubernetesBackendError

EVENT = {"status": "success", "namespace": "ns", "name": "isolated-abc"}


class FakeKpo:
    base_container_name = "base"
    killed = False
    ended_pod = None

    def __init__(self, result: Optional[bytes], fail: bool = False) -> None:
        self.result_json = result
        self.fail = fail
        self.calls: List[Dict[str, Any]] = []
        self.kills = 0

    def trigger_reentry(self, context: Any, event: Dict[str, Any]) -> None:
        self.calls.append(event)
        if self.fail:
            raise AirflowException(event.get("message", "Pod returned a failure"))

    def on_kill(self) -> None:
        self.kills += 1


def _resume(kpo: FakeKpo, method: str, event: Dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(backend, "pod_operator", lambda *args, **kwargs: kpo)
    identity = TaskIdentity("d", "isolated", "r", -1, 1)
    job = BackendJob("env", identity, None, {})
    return KubernetesBackend().resume(method, event, job, lambda line: None)


@pytest.mark.parametrize("method", ["trigger_reentry", ""])
def test_the_event_goes_to_trigger_reentry_even_when_the_method_name_was_lost(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``airflow dags test`` resumes with ``{"event": ...}`` only: the method name is gone."""
    kpo = FakeKpo(b'{"ok": true}')
    outcome = _resume(kpo, method, EVENT, monkeypatch)
    assert kpo.calls == [EVENT]
    assert outcome.result == b'{"ok": true}' and outcome.where == "kubernetes pod ns/isolated-abc"


def test_a_passed_deadline_stops_the_pod_and_says_it_timed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    kpo = FakeKpo(None, fail=True)
    event = {**EVENT, "status": "timeout", "message": "Pod ns/isolated-abc reached the deadline."}
    with pytest.raises(KubernetesBackendError, match=r"timed out \(execution_timeout\) while its pod ran"):
        _resume(kpo, "", event, monkeypatch)
    assert kpo.kills == 1
