#!/usr/bin/env bash
# Builds a minimal Debian or Ubuntu base image with python3, for machines that cannot pull from a
# registry (CI here): debootstrap a rootfs, then `docker import` it. Real users pass any public base
# image (`--base-image python:3.11-slim-bookworm`) instead.
#
#   scripts/build_base_image.sh SUITE TAG      e.g.  bookworm isolation-base:bookworm
#
# The suite picks the distribution and so the image's python3: Debian bookworm 3.11, trixie 3.13;
# Ubuntu jammy 3.10, noble 3.12. Ubuntu's Release files are verified against the Ubuntu archive
# signing key, pinned below by fingerprint (Debian's keyring does not carry it).
set -euo pipefail
suite="${1:?usage: build_base_image.sh SUITE TAG}"
tag="${2:?usage: build_base_image.sh SUITE TAG}"
UBUNTU_ARCHIVE_KEY="F6ECB3762474EDA9D21B7022871920D1991BC93C"  # Ubuntu Archive Automatic Signing Key (2018)

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag already exists"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/isolation-rootfs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir "$rootfs"

# The Ubuntu keyring package from the archive itself; only the pinned key is kept from it, so a
# tampered download cannot add a key of its own.
ubuntu_keyring() {
  local mirror="$1" filename
  filename="$(curl -fsSL "$mirror/dists/$suite/main/binary-amd64/Packages.gz" | gzip -dc \
    | awk '/^Package: ubuntu-keyring$/{p=1} p&&/^Filename:/{print $2; exit}')"
  [ -n "$filename" ] || { echo "ubuntu-keyring not found in $mirror $suite" >&2; exit 1; }
  curl -fsSL -o "$work/keyring.deb" "$mirror/$filename"
  dpkg-deb -x "$work/keyring.deb" "$work/keyring"
  mkdir -m 700 "$work/gnupg"
  GNUPGHOME="$work/gnupg" gpg --quiet --import "$work/keyring/usr/share/keyrings/ubuntu-archive-keyring.gpg" 2>/dev/null
  GNUPGHOME="$work/gnupg" gpg --export "$UBUNTU_ARCHIVE_KEY" >"$work/ubuntu-archive.gpg"
  [ -s "$work/ubuntu-archive.gpg" ] || { echo "the Ubuntu archive key $UBUNTU_ARCHIVE_KEY is not in $filename" >&2; exit 1; }
  echo "$work/ubuntu-archive.gpg"
}

case "$suite" in
  jammy|noble)
    mirror="${UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}"
    keyring="$(ubuntu_keyring "$mirror")"
    # Older debootstrap releases have no script for newer Ubuntu suites; they all share gutsy's.
    script=/usr/share/debootstrap/scripts/$suite
    [ -e "$script" ] || script=/usr/share/debootstrap/scripts/gutsy
    debootstrap --variant=minbase --keyring="$keyring" --include=python3,ca-certificates \
      "$suite" "$rootfs" "$mirror" "$script" >&2
    ;;
  *)
    mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    debootstrap --variant=minbase --include=python3,ca-certificates "$suite" "$rootfs" "$mirror" >&2
    ;;
esac
# The image keeps its package index out: smaller, and apt in a child image updates first anyway.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  - "$tag"
