#!/usr/bin/env bash
# Reads a release build of tunnel-client and fails when a hardening flag of CMakeLists.txt
# (TUNNEL_HARDENING) is lost:
#   packaging/check-hardening.sh BINARY
# BINARY is the stripped executable that ships; BINARY.unstripped, which the build leaves beside it,
# has the symbols that tell our own functions from glibc's, OpenSSL's and Boost's (Debian builds
# those with flags of its own). x86-64 and aarch64 binaries; every check is reported, then the
# script fails if one did.
set -euo pipefail
binary="${1:?usage: check-hardening.sh BINARY}"
unstripped="$binary.unstripped"
for f in "$binary" "$unstripped"; do [ -f "$f" ] || { echo "hardening: $f is missing" >&2; exit 1; }; done

failed=0
pass() { echo "hardening: ok    $1"; }
fail() { echo "hardening: FAIL  $1" >&2; failed=1; }
check() {  # check DESCRIPTION COMMAND...: pass when the command succeeds
    local what="$1"
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

header=$(readelf -hW "$binary")
segments=$(readelf -lW "$binary")
dynamic=$(readelf -dW "$binary")
case "$(sed -n 's/^ *Machine: *//p' <<<"$header")" in
    *X86-64*) arch=x86_64 objdump=objdump ;;
    *AArch64*) arch=aarch64 objdump=aarch64-linux-gnu-objdump ;;
    *) echo "hardening: $binary: not an x86-64 or aarch64 ELF file" >&2; exit 1 ;;
esac
echo "hardening: $binary ($arch)"

# ---- what the loader sees (the shipped file) ----
check "position-independent (ELF type DYN, -static-pie)" grep -q '^ *Type: *DYN' <<<"$header"
check "static: no program interpreter" bash -c '! grep -q "^ *INTERP " <<<"$1"' _ "$segments"
check "full RELRO: a GNU_RELRO segment (-z relro)" grep -q '^ *GNU_RELRO ' <<<"$segments"
check "full RELRO: BIND_NOW (-z now)" grep -qE '\((FLAGS|BIND_NOW)\).*BIND_NOW|\(FLAGS_1\).*\bNOW\b' <<<"$dynamic"
# GNU_STACK's flags column: RW without E.
stack_flags=$(awk '$1 == "GNU_STACK" { print $(NF - 1) }' <<<"$segments")
check "non-executable stack (GNU_STACK $stack_flags)" test "$stack_flags" = RW

# ---- how our code was compiled (the options GCC recorded, -frecord-gcc-switches) ----
# One line per distinct set of options; all of them are ours (Debian's libraries record none).
switches=$(readelf -p .GCC.command.line "$binary" 2>/dev/null | sed -n 's/^ *\[ *[0-9a-f]*\] *//p')
check "compiler options recorded (.GCC.command.line)" test -n "$switches"
every_line_has() { [ -n "$switches" ] && ! grep -qv -e "$1" <<<"$switches"; }
check "compiled -fPIE" every_line_has ' -fPIE'
check "compiled -fstack-protector-strong" every_line_has ' -fstack-protector-strong'
check "compiled -fstack-clash-protection" every_line_has ' -fstack-clash-protection'
if [ "$arch" = x86_64 ]; then
    check "compiled -fcf-protection" every_line_has ' -fcf-protection=full'
else
    check "compiled -mbranch-protection=standard" every_line_has ' -mbranch-protection=standard'
fi

# ---- what the flags did to our own functions (namespace tunnel, and main) ----
# Counts, over our functions: those that call __stack_chk_fail, those that call a fortified libc
# function (__*_chk), stack clash probes, and the control-flow landing pads or return address
# signing at their starts.
read -r ours protected fortified probes landing signed < <(
    "$objdump" -d --no-show-raw-insn "$unstripped" | awk -v arch="$arch" '
        /^[0-9a-f]+ <.*>:$/ {
            fn = $2; ours = (fn ~ /^<(_ZN6tunnel|_ZNK6tunnel|main>)/); first = 1
            if (ours) n++
            next
        }
        !ours || NF < 2 { next }
        first { first = 0; if ($2 == "endbr64" || $2 == "bti" || $2 == "paciasp") landing++ }
        /<__stack_chk_fail>/ && !(fn in ssp) { ssp[fn] = 1; protected++ }
        /(call|bl)[ \t].*<__[a-z_]+_chk>/ && !/stack_chk/ { fortified++ }
        arch == "x86_64" && /or[q ] *\$0x0,(-?0x[0-9a-f]+)?\(%rsp\)/ { probes++ }
        arch == "aarch64" && /paciasp/ && !(fn in pac) { pac[fn] = 1; signed++ }
        END { printf "%d %d %d %d %d %d\n", n, protected, fortified, probes, landing, signed }
    ' 2>/dev/null || echo "0 0 0 0 0 0")
echo "hardening: $ours functions of ours: $protected call __stack_chk_fail, $fortified calls to fortified" \
     "functions, $probes stack probes, $landing start with a landing pad, $signed sign their return address"
check "our functions are stack protected (call __stack_chk_fail)" test "$protected" -gt 0
check "our code calls fortified libc functions (-D_FORTIFY_SOURCE)" test "$fortified" -gt 0
if [ "$arch" = x86_64 ]; then
    check "our functions probe large stack frames (-fstack-clash-protection)" test "$probes" -gt 0
    check "our functions start with endbr64 (-fcf-protection)" test "$landing" -gt $((ours / 2))
else
    # aarch64 probes only frames over its 64 KiB guard, which none of ours has: the recorded option
    # above stands for it.
    check "our functions sign their return address (paciasp)" test "$signed" -gt $((ours / 2))
    check "our functions have BTI landing pads" test "$landing" -gt $((ours / 2))
fi

# ---- Debian's hardening-check, where it applies ----
# Its stack protector and fortify checks look for a dynamic libc's symbols, which a static binary
# does not have (checked above instead); it takes a static-pie for a shared library and reports its
# PIE check as ignored (checked above); its control-flow check wants the x86 IBT/SHSTK property,
# which a linker sets only when every object has it, and Debian's libc.a, libcrypto.a and Boost
# libraries do not (our own code's endbr64 is checked above; on aarch64 it does not apply).
if command -v hardening-check >/dev/null; then
    # (It disassembles with the machine's objdump, which says so on an aarch64 binary.)
    check "hardening-check: read-only relocations, immediate binding" \
        hardening-check --quiet --nostackprotector --nofortify --nocfprotection "$binary" \
        2> >(grep -v "can't disassemble for architecture" >&2)
else
    fail "hardening-check not found (Debian package devscripts: packaging/setup.sh package installs it)"
fi

if [ "$failed" -ne 0 ]; then
    echo "hardening: $binary lost a hardening flag (see FAIL above)" >&2
    exit 1
fi
echo "hardening: $binary passed every check"
