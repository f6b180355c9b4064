#!/usr/bin/env bash
# Release build of the proxy as it ships (Docker image, CI, benchmark): optimized, the Swift standard library and
# Foundation linked statically, laid out for a small resident set, and stripped.
#
#   scripts/build-release.sh [--scratch-path DIR] [--no-order] [--keep-symbols] [--map DIR] [PRODUCT ...]
#                                                                              (default product: mcpo)
#
# Prints the folder of the shipped binaries (DIR/shipped) on its last line. docs/benchmarks.md ("Release builds")
# explains the link flags:
#   -function-sections / -ffunction-sections   every function in a section of its own, so the linker can
#                                              place each one (and drop unused ones) on its own
#   lld with --symbol-ordering-file             the functions a proxy runs packed together at the start of the
#                                              code, so its pages of code are few and dense; -T places the
#                                              ones without a symbol the same way
#   --no-export-dynamic                         no dynamic symbol table of every Swift symbol (the static
#                                              Swift runtime asks for it; nothing looks symbols up at run time)
#   the C++ standard library linked statically  only the parts the Swift runtime uses, not all of libstdc++.so
#
# The link order is made here, not kept in git: scripts/make-link-order.sh builds without it, runs the proxy
# under callgrind and writes it to DIR/link-order; it is made again whenever the sources change (a hash of them
# is kept beside it), so it is never stale. That needs valgrind; without it the build goes on unordered, with a
# warning (its idle memory is then several MiB larger, which CI's budget check would catch).
# --no-order leaves the ordering out; --keep-symbols ships the binaries unstripped; --map writes lld's link map of
# each product to DIR/<product>.map (make-link-order.sh builds that way to profile).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCRATCH=".build"
ORDERED=1
STRIP=1
MAP=""
PRODUCTS=()
while (( $# )); do
  case "$1" in
    --scratch-path) SCRATCH="$2"; shift 2 ;;
    --no-order) ORDERED=0; shift ;;
    --keep-symbols) STRIP=0; shift ;;
    --map) MAP="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) PRODUCTS+=("$1"); shift ;;
  esac
done
(( ${#PRODUCTS[@]} )) || PRODUCTS=(mcpo)
log() { printf '[build-release] %s\n' "$*" >&2; }

FLAGS=(
  -c release --static-swift-stdlib --scratch-path "$SCRATCH"
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
  -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic -Xlinker -z -Xlinker pack-relative-relocs
  -Xlinker -L"$SCRATCH/static-libstdc++"
)

# The Swift runtime's C++ standard library linked statically: the linker finds this folder's libstdc++.a before
# any libstdc++.so, and takes only the parts the runtime uses instead of mapping all of libstdc++.so.
# (gcc comes with the Swift images and Debian's toolchain packages; g++ need not.)
mkdir -p "$SCRATCH/static-libstdc++"
LIBSTDCXX="$(gcc -print-file-name=libstdc++.a 2>/dev/null || clang -print-file-name=libstdc++.a 2>/dev/null || true)"
if [[ "$LIBSTDCXX" == /* && -r "$LIBSTDCXX" ]]; then
  ln -sf "$LIBSTDCXX" "$SCRATCH/static-libstdc++/libstdc++.a"
else
  rm -f "$SCRATCH/static-libstdc++/libstdc++.a"
  log "libstdc++.a not found (Debian: libstdc++-12-dev); linking libstdc++.so instead"
fi

# The link order: made for these sources, or made again.
if (( ORDERED )); then
  ORDER_DIR="$SCRATCH/link-order"
  STAMP="$(find Sources Package.swift scripts/make-link-order.sh scripts/link-order.py -type f -print0 | sort -z \
    | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [[ -r "$ORDER_DIR/mcpo.order" && "$(cat "$ORDER_DIR/stamp" 2>/dev/null)" == "$STAMP" ]]; then
    log "link order of these sources is in $ORDER_DIR"
  elif command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
    log "making the link order for these sources (scripts/make-link-order.sh, a few minutes)"
    scripts/make-link-order.sh --scratch-path "$SCRATCH" --out "$ORDER_DIR" >&2
    printf '%s\n' "$STAMP" > "$ORDER_DIR/stamp"
  else
    log "WARNING: valgrind is missing (Debian: apt-get install valgrind): building without a link order;"
    log "         the binary works, but its idle memory is several MiB larger"
    ORDERED=0
  fi
  if (( ORDERED )); then
    FLAGS+=(-Xlinker "--symbol-ordering-file=$ROOT/$ORDER_DIR/mcpo.order" -Xlinker --no-warn-symbol-ordering)
    FLAGS+=(-Xlinker -T -Xlinker "$ROOT/$ORDER_DIR/mcpo-unnamed.ld")
  fi
fi

BIN="$(swift build "${FLAGS[@]}" --show-bin-path)"
for product in "${PRODUCTS[@]}"; do
  # SwiftPM does not relink when only the ordering file changed.
  rm -f "$BIN/$product"
  if [[ -n "$MAP" ]]; then
    swift build "${FLAGS[@]}" -Xlinker "-Map=$MAP/$product.map" --product "$product" >&2
  else
    swift build "${FLAGS[@]}" --product "$product" >&2
  fi
done

# What ships: the binaries without their debug information and symbol table (docs/docker.md says how large).
SHIPPED="$ROOT/$SCRATCH/shipped"
mkdir -p "$SHIPPED"
for product in "${PRODUCTS[@]}"; do
  cp "$BIN/$product" "$SHIPPED/$product.tmp"
  (( STRIP )) && strip "$SHIPPED/$product.tmp"
  mv "$SHIPPED/$product.tmp" "$SHIPPED/$product"
done
echo "$SHIPPED"
