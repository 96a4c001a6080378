"""The Docker backend: the target runs in a container of the environment's image."""
