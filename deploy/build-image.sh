#!/usr/bin/env bash
# Build the newsbeam application image from deploy/Dockerfile, unmodified, with podman or
# docker (whichever is present; NEWSBEAM_ENGINE=podman|docker chooses).
#
#   deploy/build-image.sh               # builds newsbeam:VERSION
#   deploy/build-image.sh --base-only   # only makes sure the base image is there
#   deploy/build-image.sh --tag NAME    # another image name
#
# The base is the Dockerfile's PYTHON_IMAGE default (python:3.11-slim). When it is neither
# present locally nor pullable (no registry reachable), the script first builds a local
# STAND-IN for it from Debian packages -- localhost/newsbeam-stand-in/python:3.11-slim:
# debootstrap (bookworm, minbase) + Debian's python3 -- and builds against that with
# --build-arg PYTHON_IMAGE=... . The image records which base it was built on in the label
# org.opencontainers.image.base.name. Users with registry access get the real base with the
# same command. The stand-in needs root, podman and debootstrap (.ci/setup-containers.sh).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dockerfile="$repo/deploy/Dockerfile"
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$repo/newsbeam/__init__.py")"
tag="newsbeam:$version"
base_only=0

die() { echo "build-image: $*" >&2; exit 1; }
log() { echo "build-image: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --base-only) base_only=1 ;;
        --tag) [ $# -ge 2 ] || die "--tag needs a value"; tag="$2"; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

engine="${NEWSBEAM_ENGINE:-}"
if [ -z "$engine" ]; then
    if command -v podman >/dev/null; then engine=podman
    elif command -v docker >/dev/null; then engine=docker
    else die "neither podman nor docker is installed"; fi
fi
command -v "$engine" >/dev/null || die "$engine is not installed"

# The base the Dockerfile names by default, e.g. python:3.11-slim.
base="$(sed -n 's/^ARG PYTHON_IMAGE=\(.*\)$/\1/p' "$dockerfile")"
[ -n "$base" ] || die "deploy/Dockerfile has no 'ARG PYTHON_IMAGE=...' default"
# Fully qualified: podman matches a short name such as python:3.11-slim against any local
# image ending in /python:3.11-slim -- the stand-in included.
case "$base" in
    */*) first="${base%%/*}"
         case "$first" in *.*|*:*|localhost) ;; *) base="docker.io/$base" ;; esac ;;
    *) base="docker.io/library/$base" ;;
esac
stand_in="localhost/newsbeam-stand-in/${base##*/}"
debian_stand_in="localhost/newsbeam-stand-in/debian:bookworm"

have_image() { "$engine" image inspect "$1" >/dev/null 2>&1; }

build_stand_in() {
    [ "$engine" = podman ] || die "no registry answers for $base, and the stand-in base is built with podman only"
    [ "$(id -u)" = 0 ] || die "no registry answers for $base; building the stand-in needs root (debootstrap)"
    command -v debootstrap >/dev/null || die "no registry answers for $base; building the stand-in needs debootstrap"
    if ! have_image "$debian_stand_in"; then
        log "building $debian_stand_in with debootstrap (~45 s)"
        rootfs="$(mktemp -d)"
        trap 'rm -rf "$rootfs"' EXIT
        debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" \
            http://deb.debian.org/debian >/dev/null
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar --numeric-owner -C "$rootfs" -c . | podman import \
            --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$debian_stand_in" >/dev/null
        rm -rf "$rootfs"
        trap - EXIT
    fi
    log "building $stand_in from Debian's python3 (a stand-in for $base; ~20 s when not cached)"
    podman build --pull=never --format docker -q \
        --build-arg DEBIAN_IMAGE="$debian_stand_in" --build-arg STANDS_IN_FOR="$base" \
        -f "$repo/deploy/stand-in-base.Dockerfile" -t "$stand_in" "$repo/deploy" >/dev/null
}

if have_image "$base"; then
    build_base="$base"
elif "$engine" pull -q "$base" >/dev/null 2>&1; then
    build_base="$base"
else
    # Built every time: cached layers make it instant, and an edited stand-in file is picked up.
    log "$base cannot be pulled (no registry reachable): using the local stand-in $stand_in"
    build_stand_in
    build_base="$stand_in"
fi
[ "$base_only" = 1 ] && { echo "$build_base"; exit 0; }

revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
# The commit's date, not now: the same sources give the same labels.
created="$(git -C "$repo" log -1 --format=%cI 2>/dev/null || echo unknown)"
args=(build -f "$dockerfile" -t "$tag"
      --build-arg PYTHON_IMAGE="$build_base"
      --label org.opencontainers.image.version="$version"
      --label org.opencontainers.image.revision="$revision"
      --label org.opencontainers.image.created="$created"
      --label org.opencontainers.image.base.name="$build_base")
if [ "$engine" = podman ]; then
    # docker format: the OCI image format has no HEALTHCHECK. The host's CA bundle is mounted
    # for the build only (never in a layer): pip inside the build must trust whatever CA the
    # host trusts (some networks intercept TLS).
    args+=(--format docker --pull=never --ignorefile "$repo/deploy/Dockerfile.dockerignore")
    ca=/etc/ssl/certs/ca-certificates.crt
    [ -f "$ca" ] && args+=(-v "$ca:$ca:ro")
fi
log "building $tag on $build_base with $engine"
"$engine" "${args[@]}" "$repo" >&2
echo "$tag"
