"""Choosing the target interpreter and resolving the lock, for venv and image builds alike."""
