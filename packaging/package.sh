#!/usr/bin/env bash
# Installs what is missing, builds the release artefacts for amd64 (preset release) and arm64
# (preset release-arm64, cross-built), gathers them in build/artefacts/ with one SHA256SUMS, and
# checks them: lintian reports no errors, the packages and the tarballs hold what they should, the
# sums match, each static binary is hardened (packaging/check-hardening.sh), runs (the arm64 one
# under qemu-user, through the quick start's request) and has not grown past its ceiling.
#   packaging/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# The static binary must not grow unnoticed: the ceiling is 9.5 MiB, for each architecture. Debian's
# libcrypto and libssl are 3.9 MB of it (OpenSSL 3's default provider keeps every algorithm it was
# built with), glibc 1.1 MB, Boost.Log and what it brings (Boost.Thread, Boost.Filesystem) about
# 0.6 MB, the hardening (static-pie's relocations, stack protector, CET/PAC) about 0.4 MB.
max_size=$((95 * 1024 * 1024 / 10))

bash packaging/setup.sh package   # (installs the arm64 toolchain, libraries and qemu-user too)
for preset in release release-arm64; do
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j2 --target package
done

version=$(sed -n 's/^project(tunnel_client VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
fail() { echo "package: $*" >&2; exit 1; }
has() { grep -qE "$2" <<<"$1" || fail "$3"; }
lacks() { ! grep -qE "$2" <<<"$1" || fail "$3"; }

# check_build DIR DEB_ARCH UNAME_ARCH RUNNER_TOO: the artefacts of one build.
check_build() {
    local out="$1" deb_arch="$2" machine="$3" with_runner="$4"
    local client_deb="$out/tunnel-client_${version}_${deb_arch}.deb"
    local runner_deb="$out/tunnel-runner_${version}_${deb_arch}.deb"
    local tarball="$out/tunnel-client-${version}-linux-${machine}.tar.gz"
    local debs=("$client_deb") count=2
    if [ "$with_runner" = yes ]; then debs+=("$runner_deb"); count=3; fi
    for f in "${debs[@]}" "$tarball" "$out/SHA256SUMS"; do [ -f "$f" ] || fail "missing artefact $f"; done

    echo "package: lintian ($deb_arch)"
    lintian --fail-on error,warning --allow-root "${debs[@]}"

    echo "package: contents ($deb_arch)"
    local client_files
    client_files=$(dpkg-deb -c "$client_deb")
    has "$(dpkg-deb -f "$client_deb" Architecture)" "^${deb_arch}$" "$client_deb is not for $deb_arch"
    has "$client_files" ' \./usr/bin/tunnel-client$' "tunnel-client is not in /usr/bin of $client_deb"
    has "$client_files" ' \./usr/share/doc/tunnel-client/copyright$' "no copyright in $client_deb"
    has "$client_files" ' \./usr/share/doc/tunnel-client/changelog\.gz$' "no changelog.gz in $client_deb"
    has "$client_files" ' \./usr/share/doc/tunnel-client/README\.md$' "no README in $client_deb"
    has "$client_files" ' \./usr/share/man/man1/tunnel-client\.1\.gz$' "no manual page in $client_deb"
    lacks "$client_files" 'tunnel-runner' "$client_deb holds tunnel-runner"
    if [ "$with_runner" = yes ]; then
        local runner_files
        runner_files=$(dpkg-deb -c "$runner_deb")
        has "$runner_files" ' \./usr/share/man/man1/tunnel-runner\.1\.gz$' "no manual page in $runner_deb"
        has "$runner_files" ' \./usr/bin/tunnel-runner$' "tunnel-runner is not in /usr/bin of $runner_deb"
        has "$runner_files" ' \./usr/share/doc/tunnel-runner/copyright$' "no copyright in $runner_deb"
        lacks "$runner_files" 'bin/tunnel-client$' "$runner_deb holds tunnel-client"
    fi
    local top="tunnel-client-${version}-linux-${machine}" tar_files
    tar_files=$(tar -tzf "$tarball")
    for f in tunnel-client README.md LICENSE examples/supervisord/tunnel-client.conf \
             examples/docker/Dockerfile.example docs/design.md bench/README.md; do
        grep -qx "$top/$f" <<<"$tar_files" || fail "$tarball lacks $top/$f"
    done
    (cd "$out" && sha256sum -c --quiet SHA256SUMS) || fail "$out/SHA256SUMS does not match the artefacts"
    [ "$(wc -l < "$out/SHA256SUMS")" -eq "$count" ] || fail "$out/SHA256SUMS should list $count artefacts"

    echo "package: static binary ($machine)"
    local bin="$out/tunnel-client"
    file -b "$bin" | grep -q 'static-pie linked' || fail "$bin is not a static-pie executable: $(file -b "$bin")"
    bash packaging/check-hardening.sh "$bin"
    local size
    size=$(stat -c %s "$bin")
    echo "package: $bin is $size bytes (limit $max_size)"
    [ "$size" -le "$max_size" ] || fail "$bin is $size bytes, more than $max_size"
}

check_build build/release "$(dpkg --print-architecture)" "$(uname -m)" yes
build/release/tunnel-client --version | grep -qx "tunnel-client $version (linux-$(uname -m))" ||
    fail "build/release/tunnel-client --version does not name linux-$(uname -m)"
check_build build/release-arm64 arm64 aarch64 no

# The arm64 tarball's binary, under qemu-user, carries the quick start's request (packaging/demo.sh).
echo "package: the arm64 tarball's binary through the quick start, under qemu-aarch64-static"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
tar -xzf "build/release-arm64/tunnel-client-${version}-linux-aarch64.tar.gz" -C "$unpacked"
arm64_bin="$unpacked/tunnel-client-${version}-linux-aarch64/tunnel-client"
qemu-aarch64-static "$arm64_bin" --version | grep -qx "tunnel-client $version (linux-aarch64)" ||
    fail "the arm64 binary's --version does not name linux-aarch64"
DEMO_CLIENT="qemu-aarch64-static $arm64_bin" bash packaging/demo.sh >"$unpacked/demo.log" 2>&1 ||
    { cat "$unpacked/demo.log" >&2; fail "the quick start failed with the arm64 binary"; }
grep '^HTTP ' "$unpacked/demo.log"

# Every artefact of both architectures in one place, with one SHA256SUMS.
echo "package: build/artefacts"
artefacts=build/artefacts
rm -rf "$artefacts"
mkdir -p "$artefacts"
for out in build/release build/release-arm64; do
    sed 's/^[0-9a-f]*  //' "$out/SHA256SUMS" | while read -r f; do cp "$out/$f" "$artefacts/"; done
done
(cd "$artefacts" && LC_ALL=C ls | grep -v '^SHA256SUMS$' | xargs sha256sum > SHA256SUMS)
[ "$(wc -l < "$artefacts/SHA256SUMS")" -eq 5 ] || fail "$artefacts/SHA256SUMS should list 5 artefacts"
(cd "$artefacts" && sha256sum -c SHA256SUMS) || fail "$artefacts/SHA256SUMS does not match"
echo "package: all checks passed"
