#!/usr/bin/env bash
# Installs what building and testing tunnel-client needs on Debian 12 (bookworm), if missing.
set -euo pipefail

packages=(
    g++ cmake ninja-build ccache pkg-config
    libboost1.81-dev libboost-program-options1.81-dev libboost-test1.81-dev
    libboost-url1.81-dev libboost-json1.81-dev libboost-log1.81-dev libssl-dev
    python3 socat procps
    tinyproxy openssl util-linux supervisor
)
# The ThreadSanitizer and fuzz builds use clang and its runtimes (libFuzzer).
if [ "${1:-}" = "tsan" ] || [ "${1:-}" = "fuzz" ]; then packages+=(clang-14 libclang-rt-14-dev); fi
# Packaging (packaging/package.sh): dpkg-shlibdeps for tunnel-runner's dependencies, lintian, file,
# and help2man for the manual pages (the release preset makes them).
if [ "${1:-}" = "package" ]; then packages+=(dpkg-dev lintian file help2man); fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all build dependencies are installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
