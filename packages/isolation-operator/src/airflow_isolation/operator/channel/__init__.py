"""The host's end of a task's channel back (``core.channel``): opened per run, served while the
target runs, closed when it ends."""

from airflow_isolation.operator.channel.server import HostChannel, host_can_answer

__all__ = ["HostChannel", "host_can_answer"]
