#!/usr/bin/env bash
# Release build of the proxy as it ships (Docker image, benchmark): optimized, the Swift standard library
# and Foundation linked statically, and laid out for a small resident set.
#
#   scripts/build-release.sh [--scratch-path DIR] [--no-order] [--map DIR] [PRODUCT ...]   (default product: mcpo)
#
# Prints the folder of the binaries on its last line. docs/benchmarks.md ("Memory") explains the link flags:
#   -function-sections / -ffunction-sections   every function in a section of its own, so the linker can
#                                              place each one (and drop unused ones) on its own
#   lld with --symbol-ordering-file             the functions a proxy runs, from scripts/mcpo.order, packed
#                                              together at the start of the code: a few MiB of pages instead
#                                              of faults spread over 30 MiB of code; scripts/mcpo-unnamed.ld
#                                              places the ones without a symbol the same way
#   --no-export-dynamic                         no dynamic symbol table of every Swift symbol (the static
#                                              Swift runtime asks for it; nothing looks symbols up at run time)
#   the C++ standard library linked statically  only the parts the Swift runtime uses, not all of libstdc++.so
# --no-order leaves the ordering out and --map writes lld's link map of each product to DIR/<product>.map
# (scripts/make-link-order.sh builds that way to profile).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCRATCH=".build"
ORDER="$ROOT/scripts/mcpo.order"
UNNAMED="$ROOT/scripts/mcpo-unnamed.ld"
MAP=""
PRODUCTS=()
while (( $# )); do
  case "$1" in
    --scratch-path) SCRATCH="$2"; shift 2 ;;
    --no-order) ORDER=""; shift ;;
    --map) MAP="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) PRODUCTS+=("$1"); shift ;;
  esac
done
(( ${#PRODUCTS[@]} )) || PRODUCTS=(mcpo)

FLAGS=(
  -c release --static-swift-stdlib --scratch-path "$SCRATCH"
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
  -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic -Xlinker -z -Xlinker pack-relative-relocs
  -Xlinker -L"$SCRATCH/static-libstdc++"
)
if [[ -n "$ORDER" ]]; then
  [[ -r "$ORDER" ]] || { echo "build-release: $ORDER is missing (scripts/make-link-order.sh makes it)" >&2; exit 1; }
  FLAGS+=(-Xlinker "--symbol-ordering-file=$ORDER" -Xlinker --no-warn-symbol-ordering)
  [[ -r "$UNNAMED" ]] && FLAGS+=(-Xlinker -T -Xlinker "$UNNAMED")
fi

# The Swift runtime's C++ standard library linked statically: the linker finds this folder's libstdc++.a before
# any libstdc++.so, and takes only the parts the runtime uses instead of mapping all of libstdc++.so.
# (gcc comes with the Swift images and Debian's toolchain packages; g++ need not.)
mkdir -p "$SCRATCH/static-libstdc++"
LIBSTDCXX="$(gcc -print-file-name=libstdc++.a 2>/dev/null || clang -print-file-name=libstdc++.a 2>/dev/null || true)"
if [[ "$LIBSTDCXX" == /* && -r "$LIBSTDCXX" ]]; then
  ln -sf "$LIBSTDCXX" "$SCRATCH/static-libstdc++/libstdc++.a"
else
  rm -f "$SCRATCH/static-libstdc++/libstdc++.a"
  echo "build-release: libstdc++.a not found (Debian: libstdc++-12-dev); linking libstdc++.so instead" >&2
fi

BIN="$(swift build "${FLAGS[@]}" --show-bin-path)"
for product in "${PRODUCTS[@]}"; do
  # SwiftPM does not relink when only the ordering file changed.
  rm -f "$BIN/$product"
  if [[ -n "$MAP" ]]; then
    swift build "${FLAGS[@]}" -Xlinker "-Map=$MAP/$product.map" --product "$product"
  else
    swift build "${FLAGS[@]}" --product "$product"
  fi
done
swift build "${FLAGS[@]}" --show-bin-path
