"""Building an environment into a content-hashed venv on this machine."""
