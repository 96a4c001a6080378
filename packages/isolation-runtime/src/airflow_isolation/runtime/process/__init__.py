"""The runtime as a process: reading its request, redacting its output, SIGTERM, what it forked,
and how it exits."""
