#!/usr/bin/env bash
# Machine set-up for the container tests (tests/test_containers.py): a container engine
# and, where no registry is reachable, the local stand-in base image. Idempotent: each
# step does nothing where its result is already there. Measured recipe and costs:
# ../shared/notes/containers-on-this-machine.md (~20 s packages, ~70 s stand-in base).
set -euo pipefail
cd "$(dirname "$0")/.."

# podman (and what it needs here) unless a docker daemon answers; each package only if
# missing. (These machines have the docker CLI but no daemon.)
if ! docker info >/dev/null 2>&1; then
    missing=()
    for tool in podman buildah runc debootstrap; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
            echo "setup-containers: cannot install ${missing[*]} (needs root and apt-get)" >&2
        else
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        fi
    fi
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

# The base image (the real one when a registry answers, else the Debian stand-in). Not
# fatal: without it only the container tests fail (with the build's message), not the run.
if command -v podman >/dev/null || command -v docker >/dev/null; then
    deploy/build-image.sh --base-only >/dev/null \
        || echo "setup-containers: no base image; tests/test_containers.py will fail" >&2
fi
