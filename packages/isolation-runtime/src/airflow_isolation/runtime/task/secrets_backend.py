"""A secrets backend served from the request, so nothing secret is ever put in the environment.

Airflow is pointed at it through ``[secrets] backend`` (a class path, nothing secret), which both
Airflow 2.x and 3.x consult first. Importing this module imports Airflow, so only the Airflow code
path imports it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Dict, List, Optional

from airflow.secrets.base_secrets import BaseSecretsBackend

from airflow_isolation.core import ConnectionSpec

if TYPE_CHECKING:
    from airflow_isolation.runtime.facets.host_channel import HostAsker

_connections: Dict[str, str] = {}
_variables: Dict[str, str] = {}


def load(connections: List[ConnectionSpec], variables: Dict[str, str]) -> None:
    """Serve these; ``variables`` is kept by reference, so a buffered ``Variable.set`` (which
    updates it) is what a later ``Variable.get`` of the same run reads."""
    global _variables
    _connections.clear()
    _variables = variables
    for conn in connections:
        _connections[conn.conn_id] = json.dumps(
            {
                "conn_type": conn.conn_type,
                "description": conn.description,
                "host": conn.host,
                "login": conn.login,
                "password": conn.password,
                "schema": conn.schema,
                "port": conn.port,
                "extra": conn.extra,
            }
        )


class RequestSecretsBackend(BaseSecretsBackend):  # type: ignore[misc]
    """Connections and variables the host resolved for this run, and nothing else."""

    def get_conn_value(self, conn_id: str, team_name: Optional[str] = None) -> Optional[str]:
        return _connections.get(conn_id)

    def get_conn_uri(self, conn_id: str) -> Optional[str]:  # Airflow < 2.3 API name
        return None

    def get_variable(self, key: str, team_name: Optional[str] = None) -> Optional[str]:
        return _variables.get(key)

    def get_config(self, key: str) -> Optional[str]:
        return None


_CONNECTION_FIELDS = ("conn_type", "description", "host", "login", "password", "schema", "port", "extra")


class HostSecretsBackend(BaseSecretsBackend):  # type: ignore[misc]
    """Airflow 2: what the request did not carry, asked of the host's Airflow over the channel
    (its secrets backends answer, as for a native task's lookup). A name the host does not know is
    not found, as natively."""

    def __init__(self, asker: HostAsker) -> None:
        super().__init__()
        self._asker = asker

    def get_conn_value(self, conn_id: str, team_name: Optional[str] = None) -> Optional[str]:
        answer = self._asker.ask("GetConnection", {"conn_id": conn_id})
        if answer.kind != "ConnectionResult":
            return None
        return json.dumps({name: answer.fields.get(name) for name in _CONNECTION_FIELDS})

    def get_conn_uri(self, conn_id: str) -> Optional[str]:
        return None

    def get_variable(self, key: str, team_name: Optional[str] = None) -> Optional[str]:
        answer = self._asker.ask("GetVariable", {"key": key})
        value = answer.fields.get("value") if answer.kind == "VariableResult" else None
        return None if value is None else str(value)

    def get_config(self, key: str) -> Optional[str]:
        return None


def ask_the_host_too(asker: HostAsker) -> None:
    """Airflow 2: after the request's connections and variables and the environment's, the host."""
    import airflow.configuration

    airflow.configuration.secrets_backend_list.append(HostSecretsBackend(asker))
