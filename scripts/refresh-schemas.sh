#!/usr/bin/env bash
# Vendors the CloudFormation registry schemas listed in constructs/resources/schemas/types.txt
# from the cfn-lint wheel on PyPI, then records where they came from in SOURCE.toml.
#
#   scripts/refresh-schemas.sh [CFNLINT_VERSION]     (default 1.58.0)
#
# Afterwards run `cargo run -p cfn-codegen -- generate` to regenerate cfn-resources.
set -euo pipefail

version="${1:-1.58.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/constructs/resources/schemas"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "cfn-lint==$version"
wheel="$(ls "$tmp"/cfn_lint-*.whl)"

python3 - "$wheel" "$dest" "$version" <<'PY'
import json, os, sys, zipfile

wheel, dest, version = sys.argv[1:4]
base = "cfnlint/data/schemas/"
with zipfile.ZipFile(wheel) as z:
    def load(name):
        return json.loads(z.read(base + name).decode("utf-8"))

    index = load("providers/us-east-1.json")
    schema_date = load("version.json")["schema_date"]
    with open(os.path.join(dest, "types.txt"), encoding="utf-8") as f:
        wanted = [l.split("#", 1)[0].strip() for l in f]
    wanted = [t for t in wanted if t]

    written, missing = set(), []
    for type_name in wanted:
        digest = index.get(type_name)
        if digest is None:
            missing.append(type_name)
            continue
        schema = load("resources/%s.json" % digest)
        file_name = type_name.lower().replace("::", "_") + ".json"
        with open(os.path.join(dest, file_name), "w", encoding="utf-8", newline="\n") as out:
            json.dump(schema, out, indent=2, ensure_ascii=False)
            out.write("\n")
        written.add(file_name)

# Drop schemas of types no longer listed.
for name in sorted(os.listdir(dest)):
    if name.endswith(".json") and name not in written:
        os.remove(os.path.join(dest, name))

with open(os.path.join(dest, "SOURCE.toml"), "w", encoding="utf-8", newline="\n") as f:
    f.write("# Written by scripts/refresh-schemas.sh; do not edit.\n")
    f.write('cfn_lint_version = "%s"\n' % version)
    f.write('schema_date = "%s"\n' % schema_date)
    f.write('region_index = "us-east-1"\n')

print("vendored %d schemas from cfn-lint %s (%s)" % (len(written), version, schema_date))
for t in missing:
    print("skipped (not in the us-east-1 index): %s" % t, file=sys.stderr)
PY
