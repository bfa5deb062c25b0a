#!/usr/bin/env bash
# Installs what a fresh Debian 12 lacks to build, run and test Hajib. Idempotent and quiet.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libsmpp34-dev libuv1-dev libyaml-cpp-dev libhiredis-dev libfmt-dev catch2
  libsodium-dev libhttp-parser-dev libre2-dev libicu-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  redis-server redis-sentinel haproxy clang libclang-rt-14-dev
  libcurl4-openssl-dev libcli11-dev
  prometheus-cpp-dev prometheus chromium
  libsystemd-dev
  libssl-dev openssl  # TLS on listen.smpps; the openssl command makes the tests' certificates
  # scripts/package-test.sh: the .deb and a clean Debian 12 root to install it in
  dpkg-dev debootstrap systemd groff-base man-db python3 curl iproute2
)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Redis is started by the tests on a free loopback port, never as a system service.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
  :  # leave a running system Redis alone: it is not ours to stop
fi

# The reference SMPP peer (customer and operator SMSCs in tests), pinned in test/e2e/package.json.
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -d "$here/test/e2e/node_modules/smpp" ]; then
  (cd "$here/test/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi
