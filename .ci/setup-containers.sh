#!/usr/bin/env bash
# Machine set-up for the container tests (tests/test_containers.py): a container engine
# and, where no registry is reachable, the local stand-in base image. Idempotent: each
# step does nothing where its result is already there. Measured recipe and costs:
# ../shared/notes/containers-on-this-machine.md (~20 s packages, ~70 s stand-in base).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v podman >/dev/null && ! command -v docker >/dev/null; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "setup-containers: no podman/docker and cannot apt-get install them; container tests will be skipped" >&2
        exit 0
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap >/dev/null
fi

# Rootful podman on these hosts needs runc (crun refuses the hybrid cgroup layout),
# cgroupfs, file events, and rlimits root may set. A drop-in leaves any other settings alone.
if command -v podman >/dev/null && [ "$(id -u)" = 0 ]; then
    conf=/etc/containers/containers.conf.d/50-newsbeam-ci.conf
    if [ ! -f "$conf" ]; then
        mkdir -p "$(dirname "$conf")"
        cat > "$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    fi
fi

# The base image (the real one when a registry answers, else the Debian stand-in).
if [ "$(id -u)" = 0 ] || command -v docker >/dev/null; then
    deploy/build-image.sh --base-only
fi
