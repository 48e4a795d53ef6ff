#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh machine: the npm packages
# (which bring Node 24 for every npm script) and the real Prometheus binary (Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null 2>&1 && [ -z "${PROMETHEUS_BIN:-}" ]; then
  echo "installing prometheus (Debian package)"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package starts a system service we do not want; the sandbox runs its own instance.
  $SUDO systemctl stop prometheus >/dev/null 2>&1 || $SUDO service prometheus stop >/dev/null 2>&1 || true
fi

if [ ! -x node_modules/node/bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "setup done: node $(npm exec -- node --version), $(prometheus --version 2>&1 | head -1 || echo "prometheus at ${PROMETHEUS_BIN:-?}")"
