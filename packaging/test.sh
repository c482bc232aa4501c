#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit + integration) with ctest.
#   packaging/test.sh            debug build
#   packaging/test.sh asan       AddressSanitizer + UBSan build
#   packaging/test.sh tsan       ThreadSanitizer build (clang 14), clients on 4 threads
#   packaging/test.sh fuzz       the libFuzzer targets (clang 14, ASan + UBSan), a minute each
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-debug}"

# Let ccache share compiled objects between checkouts in different directories.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

bash packaging/setup.sh "$preset"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset"
