"""The one error of the warm room: whoever asked for the warm runtime starts the task cold instead."""


class WarmUnavailable(Exception):
    """The warm runtime cannot take a task; the task starts cold."""
