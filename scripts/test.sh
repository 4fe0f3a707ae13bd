#!/usr/bin/env bash
# Install the test dependencies (Debian packages too) into ./.venv, lint, type-check and run the
# whole test suite. Idempotent. Extra arguments go to pytest (e.g. -m 'not slow', -k registry).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
# System packages: Chromium + driver (dashboard tests), CJK fonts (releases), Node/npm (JupyterHub's
# proxy), OpenSSH client (SFTP tests), poppler (PDF checks), venv.
need=()
for pkg in chromium chromium-driver fonts-noto-cjk openssh-client poppler-utils python3-venv; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
# JupyterHub's proxy (npm) into the venv, where the lab looks for it (docs/lab.md).
proxy=.venv/node/node_modules/.bin/configurable-http-proxy
[ -x "$proxy" ] || npm install -s --prefix .venv/node --no-audit --no-fund configurable-http-proxy@5.3.0
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
exec .venv/bin/pytest "$@"
