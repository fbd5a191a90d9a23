#!/usr/bin/env bash
# The supported Pythons besides 3.11 (which runs the whole suite in CI): install the lock
# in a fresh venv with each, run the main job on the examples and the smoke tests.
#   scripts/check_python_versions.sh [PYTHON ...]
# Without arguments: python3.12 and python3.13 from PATH or pyenv, where present.
set -uo pipefail
cd "$(dirname "$0")/.."
pythons=("$@")
if [ ${#pythons[@]} -eq 0 ]; then
    for version in 3.12 3.13; do
        found=$(command -v "python$version" || ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python 2>/dev/null | tail -1)
        if [ -n "$found" ]; then pythons+=("$found"); else echo "python$version: not found"; fi
    done
fi
for python in "${pythons[@]}"; do
    python3 scripts/dependency_canary.py --resolution lock --python "$python"
done
