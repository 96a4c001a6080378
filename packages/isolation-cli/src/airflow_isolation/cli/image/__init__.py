"""Building an environment into a Docker image, and pushing it to a registry.

Everything here runs on the host except ``in_container_install``, which is copied into the build
context and runs inside ``docker build``.
"""
