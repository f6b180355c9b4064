#!/usr/bin/env bash
# Release build of the proxy as it ships (Docker image, benchmark): optimized, the Swift standard library
# and Foundation linked statically, and laid out for a small resident set.
#
#   scripts/build-release.sh [--scratch-path DIR] [--no-order] [PRODUCT ...]     (default product: mcpo)
#
# Prints the folder of the binaries on its last line. docs/benchmarks.md ("Memory") explains the link flags:
#   -function-sections / -ffunction-sections   every function in a section of its own, so the linker can
#                                              place each one (and drop unused ones) on its own
#   lld with --symbol-ordering-file             the functions a proxy runs, from scripts/mcpo.order, packed
#                                              together at the start of the code: a few MiB of pages instead
#                                              of faults spread over 30 MiB of code
#   --no-export-dynamic                         no dynamic symbol table of every Swift symbol (the static
#                                              Swift runtime asks for it; nothing looks symbols up at run time)
# --no-order leaves the ordering out (scripts/make-link-order.sh builds that way to profile).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCRATCH=".build"
ORDER="$ROOT/scripts/mcpo.order"
PRODUCTS=()
while (( $# )); do
  case "$1" in
    --scratch-path) SCRATCH="$2"; shift 2 ;;
    --no-order) ORDER=""; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) PRODUCTS+=("$1"); shift ;;
  esac
done
(( ${#PRODUCTS[@]} )) || PRODUCTS=(mcpo)

FLAGS=(
  -c release --static-swift-stdlib --scratch-path "$SCRATCH"
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
  -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic -Xlinker -z -Xlinker pack-relative-relocs
)
if [[ -n "$ORDER" ]]; then
  [[ -r "$ORDER" ]] || { echo "build-release: $ORDER is missing (scripts/make-link-order.sh makes it)" >&2; exit 1; }
  FLAGS+=(-Xlinker "--symbol-ordering-file=$ORDER" -Xlinker --no-warn-symbol-ordering)
fi

for product in "${PRODUCTS[@]}"; do
  swift build "${FLAGS[@]}" --product "$product"
done
swift build "${FLAGS[@]}" --show-bin-path
