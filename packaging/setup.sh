#!/usr/bin/env bash
# Installs what building and testing tunnel-client needs on Debian 12 (bookworm), if missing.
#   packaging/setup.sh [PRESET | package | arm64]
# A preset ending in -arm64, "arm64" and "package" also install what the arm64 build needs: the
# aarch64 cross toolchain, the arm64 Boost and OpenSSL libraries, and qemu-user to run its tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

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
# help2man for the manual pages (the release presets make them), and for the hardening checks
# binutils (readelf, objdump) and devscripts (hardening-check).
if [ "${1:-}" = "package" ]; then packages+=(dpkg-dev lintian file help2man binutils devscripts); fi

arm64=false
case "${1:-}" in arm64 | *-arm64 | package) arm64=true ;; esac
# The arm64 libraries are Debian's arm64 packages, installed beside the amd64 ones (Multi-Arch:
# same), except Boost.Log's, which cannot be: its -dev package is not Multi-Arch. Its static
# libraries and CMake files are unpacked into a directory of their own instead (arm64_sysroot,
# which cmake/aarch64-linux-gnu.cmake searches).
arm64_sysroot="$root/build/sysroot-arm64"
arm64_log_deb=libboost-log1.81-dev:arm64
if $arm64; then
    packages+=(crossbuild-essential-arm64 qemu-user-static binutils-aarch64-linux-gnu libssl-dev:arm64
               libicu-dev:arm64)
    for component in "" -program-options -test -url -json -atomic -chrono -date-time -filesystem -regex \
                     -system -thread; do
        packages+=("libboost${component}1.81-dev:arm64")
    done
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
need_root() {
    [ -z "$sudo" ] || command -v sudo >/dev/null || { echo "setup: need root (or sudo) to $*" >&2; exit 1; }
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    need_root "install: ${missing[*]}"
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if $arm64 && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "setup: adding the arm64 architecture to dpkg (for the arm64 libraries)"
        $sudo dpkg --add-architecture arm64
    fi
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if $arm64; then
    # Unpacked again when the package's version changes (the stamp names the version).
    version=$(apt-cache policy "$arm64_log_deb" | sed -n 's/^ *Candidate: //p')
    if [ -z "$version" ] || [ "$version" = "(none)" ]; then
        need_root "update the package lists"
        $sudo apt-get update -qq
        version=$(apt-cache policy "$arm64_log_deb" | sed -n 's/^ *Candidate: //p')
    fi
    stamp="$arm64_sysroot/.libboost-log-$version"
    if [ ! -f "$stamp" ]; then
        echo "setup: unpacking $arm64_log_deb $version into $arm64_sysroot"
        download=$(mktemp -d)
        (cd "$download" && apt-get download -qq -o APT::Sandbox::User=root "$arm64_log_deb=$version")
        rm -rf "$arm64_sysroot"
        mkdir -p "$arm64_sysroot"
        dpkg-deb -x "$download"/*.deb "$arm64_sysroot"
        rm -rf "$download"
        # Its CMake files name <sysroot>/usr/include as the include directory: the headers are
        # those of libboost1.81-dev:arm64 in /usr/include, the directory must only exist.
        mkdir -p "$arm64_sysroot/usr/include"
        # ... and they include the toolset detection of libboost1.81-dev:arm64 beside them.
        ln -s /usr/lib/aarch64-linux-gnu/cmake/BoostDetectToolset-1.81.0.cmake \
            "$arm64_sysroot/usr/lib/aarch64-linux-gnu/cmake/"
        touch "$stamp"
    fi
fi
echo "setup: all build dependencies are installed"
