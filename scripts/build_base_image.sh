#!/usr/bin/env bash
# Builds a minimal Debian base image with python3, for machines that cannot pull from a registry
# (CI here): debootstrap a rootfs, then `docker import` it. Real users pass any public base image
# (`--base-image python:3.11-slim-bookworm`) instead.
#
#   scripts/build_base_image.sh SUITE TAG      e.g.  bookworm isolation-base:bookworm
set -euo pipefail
suite="${1:?usage: build_base_image.sh SUITE TAG}"
tag="${2:?usage: build_base_image.sh SUITE TAG}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag already exists"
  exit 0
fi

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/isolation-rootfs.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT

debootstrap --variant=minbase --include=python3,ca-certificates "$suite" "$rootfs" "$mirror" >&2
# The image keeps its package index out: smaller, and apt in a child image updates first anyway.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  - "$tag"
