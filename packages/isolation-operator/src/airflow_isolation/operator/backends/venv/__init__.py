"""The venv backend: the target runs as a subprocess of the worker, in the environment's built venv."""
