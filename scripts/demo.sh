#!/usr/bin/env bash
# Install jdx into ./.venv and run the demo (an embedded exchange under ./jdx-data).
# Idempotent: a second run reuses the environment and data directory and gives the same figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e . 2>&1 | grep -v '^WARNING: Location' || true
exec .venv/bin/jdx demo "$@"
