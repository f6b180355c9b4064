#!/usr/bin/env bash
# Downloads the Swagger UI and ReDoc assets for `mcpo --docs-assets DIR` (offline /docs and /redoc).
#
#   scripts/fetch-docs-assets.sh [DIR]        # default DIR: <repo>/docs-assets (gitignored)
#
# Source: the PyPI wheel of fastapi-offline (MIT), which vendors the very files FastAPI's docs pages
# load from the CDN (swagger-ui-dist@5, redoc@2). PyPI is the only network source used; the wheel
# is pinned by version and sha256, so every run yields the same bytes.
# Writes: swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png, SOURCE.txt.
# Idempotent: does nothing when DIR already holds the files from the pinned wheel.
# Needs: python3 with pip (python3 -m pip, or python3 -m venv to get one), unzip not required.
set -euo pipefail

PACKAGE="fastapi-offline"
VERSION="1.7.7"
WHEEL_SHA256="60c8399fd7d3e3b01510e14468709e3dea1a0e773ef920372d057392d736a1f9"
FILES=(swagger-ui-bundle.js swagger-ui.css redoc.standalone.js favicon.png)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/docs-assets}"
PYTHON="${PYTHON:-python3}"
STAMP="$PACKAGE==$VERSION sha256:$WHEEL_SHA256"

log() { printf '[fetch-docs-assets] %s\n' "$*"; }
die() { printf '[fetch-docs-assets] ERROR: %s\n' "$*" >&2; exit 1; }

up_to_date() {
  [[ -f "$DEST/SOURCE.txt" ]] && [[ "$(head -n1 "$DEST/SOURCE.txt")" == "$STAMP" ]] || return 1
  local f
  for f in "${FILES[@]}"; do [[ -s "$DEST/$f" ]] || return 1; done
}

if up_to_date; then
  log "up to date: $DEST ($PACKAGE $VERSION)"
  echo "$DEST"
  exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Find a pip: the interpreter's own, else one in a throwaway venv (Debian's python3 may lack pip).
PIP=()
if "$PYTHON" -m pip --version >/dev/null 2>&1; then
  PIP=("$PYTHON" -m pip)
elif "$PYTHON" -m venv "$WORK/venv" >/dev/null 2>&1; then
  PIP=("$WORK/venv/bin/python" -m pip)
else
  die "no pip for $PYTHON. On Debian: apt-get install -y python3-pip (or python3-venv)"
fi

printf '%s==%s --hash=sha256:%s\n' "$PACKAGE" "$VERSION" "$WHEEL_SHA256" > "$WORK/requirements.txt"
log "downloading $PACKAGE==$VERSION from PyPI"
"${PIP[@]}" download --quiet --disable-pip-version-check --no-input --no-deps --only-binary=:all: \
  --require-hashes -r "$WORK/requirements.txt" -d "$WORK/dl"

WHEEL="$(find "$WORK/dl" -name '*.whl' | head -n1)"
[[ -n "$WHEEL" ]] || die "pip did not download a wheel"

# Wheels are zip files; extract with Python so unzip need not be installed.
mkdir -p "$DEST"
"$PYTHON" - "$WHEEL" "$DEST" "${FILES[@]}" <<'PY'
import sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        member = f"fastapi_offline/static/{name}"
        data = z.read(member)  # KeyError = the wheel layout changed: fail loudly
        with open(f"{dest}/{name}", "wb") as out:
            out.write(data)
PY

{
  echo "$STAMP"
  echo "Downloaded from PyPI by scripts/fetch-docs-assets.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
  echo "Swagger UI (swagger-ui-dist 5.x, Apache-2.0) and ReDoc (redoc 2.x, MIT), as vendored by"
  echo "$PACKAGE $VERSION (MIT, https://github.com/turettn/fastapi_offline)."
  echo
  (cd "$DEST" && sha256sum "${FILES[@]}")
} > "$DEST/SOURCE.txt"

log "wrote $(cd "$DEST" && du -ch "${FILES[@]}" | tail -n1 | cut -f1) to $DEST:"
for f in "${FILES[@]}"; do log "  $f"; done
echo "$DEST"
