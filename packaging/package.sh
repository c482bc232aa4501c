#!/usr/bin/env bash
# Installs what is missing, builds the release preset and its release artefacts (the .debs, the
# tarball, SHA256SUMS), and checks them: lintian reports no errors, the packages and the tarball
# hold what they should, the sums match, the static binary runs and has not grown past its ceiling.
#   packaging/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# The static binary must not grow unnoticed: the ceiling is 9.5 MiB. Debian's libcrypto and libssl
# are 3.9 MB of it (OpenSSL 3's default provider keeps every algorithm it was built with), glibc
# 1.1 MB, Boost.Log and what it brings (Boost.Thread, Boost.Filesystem) about 0.6 MB.
max_size=$((95 * 1024 * 1024 / 10))

bash packaging/setup.sh package
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target package

out=build/release
version=$(sed -n 's/^project(tunnel_client VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
arch=$(dpkg --print-architecture)
client_deb="$out/tunnel-client_${version}_${arch}.deb"
runner_deb="$out/tunnel-runner_${version}_${arch}.deb"
tarball="$out/tunnel-client-${version}-linux-$(uname -m).tar.gz"
fail() { echo "package: $*" >&2; exit 1; }
for f in "$client_deb" "$runner_deb" "$tarball" "$out/SHA256SUMS"; do
    [ -f "$f" ] || fail "missing artefact $f"
done

echo "package: lintian"
lintian --fail-on error --allow-root "$client_deb" "$runner_deb"

echo "package: contents"
has() { grep -qE "$2" <<<"$1" || fail "$3"; }
lacks() { ! grep -qE "$2" <<<"$1" || fail "$3"; }
client_files=$(dpkg-deb -c "$client_deb")
runner_files=$(dpkg-deb -c "$runner_deb")
has "$client_files" ' \./usr/bin/tunnel-client$' "tunnel-client is not in /usr/bin of $client_deb"
has "$client_files" ' \./usr/share/doc/tunnel-client/copyright$' "no copyright in $client_deb"
has "$client_files" ' \./usr/share/doc/tunnel-client/changelog\.gz$' "no changelog.gz in $client_deb"
has "$client_files" ' \./usr/share/doc/tunnel-client/README\.md$' "no README in $client_deb"
for doc in docs/*.md bench/README.md; do  # the documentation README.md links to, in both artefacts
    has "$client_files" " \./usr/share/doc/tunnel-client/${doc//./\\.}\$" "no $doc in $client_deb"
done
has "$client_files" ' \./usr/share/man/man1/tunnel-client\.1\.gz$' "no manual page in $client_deb"
has "$runner_files" ' \./usr/share/man/man1/tunnel-runner\.1\.gz$' "no manual page in $runner_deb"
lacks "$client_files" 'tunnel-runner' "$client_deb holds tunnel-runner"
has "$runner_files" ' \./usr/bin/tunnel-runner$' "tunnel-runner is not in /usr/bin of $runner_deb"
has "$runner_files" ' \./usr/share/doc/tunnel-runner/copyright$' "no copyright in $runner_deb"
lacks "$runner_files" 'bin/tunnel-client$' "$runner_deb holds tunnel-client"
tar_files=$(tar -tzf "$tarball")
top="tunnel-client-${version}-linux-$(uname -m)"
for f in tunnel-client README.md LICENSE examples/supervisord/tunnel-client.conf examples/docker/Dockerfile.example \
         docs/*.md bench/README.md; do
    grep -qx "$top/$f" <<<"$tar_files" || fail "$tarball lacks $top/$f"
done
(cd "$out" && sha256sum -c SHA256SUMS) || fail "SHA256SUMS does not match the artefacts"
[ "$(wc -l < "$out/SHA256SUMS")" -eq 3 ] || fail "SHA256SUMS should list 3 artefacts"

echo "package: static binary"
bin="$out/tunnel-client"
file -b "$bin" | grep -q 'statically linked' || fail "$bin is not statically linked: $(file -b "$bin")"
"$bin" --version
size=$(stat -c %s "$bin")
echo "package: $bin is $size bytes (limit $max_size)"
[ "$size" -le "$max_size" ] || fail "$bin is $size bytes, more than $max_size"
echo "package: all checks passed"
