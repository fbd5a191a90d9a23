#!/usr/bin/env bash
# Headless Chromium for tests/test_html_report.py (Debian's package; no
# browser download of its own). Idempotent: does nothing where chromium is present.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-browser: chromium is missing and cannot be installed here (needs root and apt-get);" \
        "the browser test will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
