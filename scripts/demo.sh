#!/usr/bin/env bash
# Install jdx into ./.venv and run the demo (an embedded exchange under ./jdx-data).
# Idempotent: a second run reuses the environment and data directory and gives the same figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
# System packages the exchange itself needs: Chromium (kaleido renders a release's charts with
# it), CJK fonts (a release's Chinese labels in its charts and PDF), venv.
need=()
for pkg in chromium fonts-noto-cjk; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e . 2>&1 | grep -v '^WARNING: Location' || true
exec .venv/bin/jdx demo "$@"
