#!/usr/bin/env bash
# Vendors every CloudFormation registry schema of cfn-lint's us-east-1 index into
# constructs/resources/schemas/<service>/, records where they came from in SOURCE.toml, and
# rewrites the per-service cargo features of constructs/resources/Cargo.toml. cfn-resources
# generates the Rust of each enabled service from these files at build time.
#
#   scripts/refresh-schemas.sh [CFNLINT_VERSION]   (default 1.58.0) vendor from PyPI's wheel
#   scripts/refresh-schemas.sh --check             compare with the cfn-lint in .venv (no network)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/constructs/resources/schemas"
manifest="$root/constructs/resources/Cargo.toml"
mode=write
version=1.58.0
case "${1:-}" in
    --check) mode=check ;;
    "") ;;
    *) version="$1" ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ "$mode" = check ]; then
    src="$(ls -d "${CFN_VENV:-$root/.venv}"/lib/python3*/site-packages 2>/dev/null | head -1)"
    [ -n "$src" ] && [ -d "$src/cfnlint/data/schemas" ] || {
        echo "refresh-schemas --check: no cfn-lint in .venv (run scripts/test.sh once)" >&2
        exit 2
    }
    out="$tmp/schemas"
    mkdir -p "$out"
    cp "$manifest" "$tmp/Cargo.toml"
    target_manifest="$tmp/Cargo.toml"
else
    # The wheel from PyPI, unless the cfn-lint of .venv is already that version.
    src="$(ls -d "${CFN_VENV:-$root/.venv}"/lib/python3*/site-packages 2>/dev/null | head -1)"
    if [ -z "$src" ] || ! grep -q "\"$version\"\|'$version'" "$src/cfnlint/version.py" 2>/dev/null; then
        python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "cfn-lint==$version"
        src="$(ls "$tmp"/cfn_lint-*.whl)"
    fi
    out="$dest"
    target_manifest="$manifest"
fi

python3 - "$src" "$out" "$target_manifest" "$version" <<'PY'
import json, os, re, shutil, sys, zipfile

src, dest, manifest, version = sys.argv[1:5]
base = "cfnlint/data/schemas/"
if src.endswith(".whl"):
    z = zipfile.ZipFile(src)
    read = lambda name: z.read(base + name).decode("utf-8")
else:
    def read(name):
        with open(os.path.join(src, base, name), encoding="utf-8") as f:
            return f.read()
    found = re.search(r"__version__\s*=\s*[\"']([^\"']+)", read("../../version.py"))
    version = found.group(1) if found else "unknown"

index = json.loads(read("providers/us-east-1.json"))
schema_date = json.loads(read("version.json"))["schema_date"]

# Service key = the lower-cased service name; vendor-prefixed when two vendors share one
# (cfn-codegen's rule, so module, feature and directory agree).
vendors = {}
for t in index:
    v, s, _ = t.split("::")
    vendors.setdefault(s.lower(), set()).add(v)
def key(t):
    v, s, _ = t.split("::")
    k = s.lower()
    return "%s_%s" % (v.lower(), k) if len(vendors[k]) > 1 and v != "AWS" else k

services = {}
for t in sorted(index):
    services.setdefault(key(t), []).append(t)
for name in os.listdir(dest):
    path = os.path.join(dest, name)
    if os.path.isdir(path) and name not in services:
        shutil.rmtree(path)
for svc, types in services.items():
    d = os.path.join(dest, svc)
    os.makedirs(d, exist_ok=True)
    wanted = set()
    for t in types:
        file_name = t.lower().replace("::", "_") + ".json"
        wanted.add(file_name)
        schema = json.loads(read("resources/%s.json" % index[t]))
        with open(os.path.join(d, file_name), "w", encoding="utf-8", newline="\n") as out:
            json.dump(schema, out, indent=1, ensure_ascii=False)
            out.write("\n")
    for name in os.listdir(d):
        if name not in wanted:
            os.remove(os.path.join(d, name))

with open(os.path.join(dest, "SOURCE.toml"), "w", encoding="utf-8", newline="\n") as f:
    f.write("# Written by scripts/refresh-schemas.sh; do not edit.\n")
    f.write('cfn_lint_version = "%s"\n' % version)
    f.write('schema_date = "%s"\n' % schema_date)
    f.write('region_index = "us-east-1"\n')

# The feature list between the markers of Cargo.toml: one feature per service, and `all`.
begin, end = "# BEGIN services (scripts/refresh-schemas.sh)\n", "# END services\n"
with open(manifest, encoding="utf-8") as f:
    text = f.read()
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
lines = ["all = [\n"] + ['    "%s",\n' % s for s in services] + ["]\n"]
lines += ["%s = []\n" % s for s in services]
with open(manifest, "w", encoding="utf-8", newline="\n") as f:
    f.write(head + begin + "".join(lines) + end + tail)

print("vendored %d schemas of %d services from cfn-lint %s (%s)"
      % (sum(map(len, services.values())), len(services), version, schema_date))
PY

if [ "$mode" = check ]; then
    if ! diff -r -q "$dest" "$out" >/dev/null || ! diff -q "$manifest" "$target_manifest" >/dev/null; then
        diff -r -q "$dest" "$out" | head -20 || true
        diff "$manifest" "$target_manifest" | head -20 || true
        echo "vendored schemas or service features are stale: run scripts/refresh-schemas.sh" >&2
        exit 1
    fi
    echo "vendored schemas and service features match cfn-lint in .venv"
fi
