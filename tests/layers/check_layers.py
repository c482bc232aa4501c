#!/usr/bin/env python3
"""Fails when a source file includes a layer it must not (the build links only what each layer
may use; this catches what a header-only include would slip past the linker)."""
import pathlib
import re
import sys

# layer -> the layers its files may include (besides its own)
ALLOWED = {
    "protocol": set(),
    "log": set(),
    "cli": set(),
    "transport": {"protocol", "log"},
    "tunnel": {"protocol", "log", "transport"},
    "control": {"tunnel", "log", "protocol", "transport"},
    "app": {"control", "tunnel", "cli", "log", "protocol", "transport"},
    "runner": {"protocol", "log", "cli", "transport"},
    "bench": {"runner", "protocol", "log", "cli", "transport"},
    "separate-compilation": set(),
}
LAYERS = set(ALLOWED) - {"bench"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/')


def layer_of(path, root):
    rel = path.relative_to(root).parts
    if rel[0] == "bench":
        return "bench"
    if rel[0] == "source" and len(rel) > 2:
        return rel[1]
    return None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    broken = []
    checked = 0
    for path in sorted(list((root / "source").rglob("*")) + list((root / "bench").rglob("*"))):
        if path.suffix not in (".cpp", ".hpp"):
            continue
        layer = layer_of(path, root)
        if layer not in ALLOWED:
            broken.append(f"{path.relative_to(root)}: not in a known layer")
            continue
        checked += 1
        for number, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or m.group(1) not in LAYERS:
                continue  # a file of the same folder (bench's own), or a system header
            target = m.group(1)
            if target != layer and target not in ALLOWED[layer]:
                broken.append(f"{path.relative_to(root)}:{number}: {layer} must not include {target}/")
    for b in broken:
        print(b)
    print(f"layers: {checked} files checked, {len(broken)} forbidden includes")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
