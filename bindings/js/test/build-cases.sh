#!/usr/bin/env bash
# Compile every decide case, and the shipped rules, with the Rust compiler for the JS tests.
#
#   bindings/js/test/build-cases.sh BLASTWALL_BIN OUT_DIR
#
# writes OUT_DIR/NAME.wasm for each tests/cases/decide/NAME and OUT_DIR/shipped.wasm; then
# `BLASTWALL_MODULES=OUT_DIR node --test bindings/js/test/` runs the conformance tests on them.
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 BLASTWALL_BIN OUT_DIR" >&2
    exit 2
fi
bin=$1
root=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
# Built from every `.bw` file of each case, from inside its folder, so that sources read
# `policy.bw:LINE:COL`, as in
# decision.json.
for dir in "$root"/tests/cases/decide/*/; do
    name=$(basename "$dir")
    (cd "$dir" && "$bin" build *.bw -o "$out/$name.wasm" >/dev/null)
done
"$bin" build -o "$out/shipped.wasm" >/dev/null
