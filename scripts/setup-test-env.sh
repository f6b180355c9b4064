#!/usr/bin/env bash
# Installs what the tests need on a new machine, then creates the Python environments they run real MCP servers in.
#
# System packages (Debian's, with apt-get, as root or through sudo; only those dpkg reports missing):
#   chromium                 the OAuth tests' real browser (headless)
#   openssl                  certificates for the TLS tests
#   postgresql               the shared store's tests (initdb and postgres, started per test in a temporary folder)
#   nginx                    the replica tests' load balancer (started per test on a free port)
#   curl, python3, python3-venv, python3-pip
# Set SETUP_TEST_ENV_SYSTEM=0 to skip this step (then install them yourself).
#
# Python environments:
#   .venv-mcp1  <- scripts/python-requirements-mcp1.txt  (mcp 1.x: FastMCP, lowlevel Server)
#   .venv-mcp2  <- scripts/python-requirements-mcp2.txt  (mcp 2.x: MCPServer)
# Both also get openapi-spec-validator (to validate the OpenAPI documents mcpo serves).
#
# Idempotent: a venv whose stamp matches (hash of its requirements file + Python version) is left
# alone, so a second run takes well under a second. Set PYTHON=/path/to/python3 to pick another
# interpreter (default: python3). Set SETUP_TEST_ENV_FORCE=1 to rebuild both venvs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
STAMP_NAME=".swift-mcpo-stamp"

log() { printf '[setup-test-env] %s\n' "$*"; }
die() { printf '[setup-test-env] ERROR: %s\n' "$*" >&2; exit 1; }

SYSTEM_PACKAGES=(chromium openssl curl python3 python3-venv python3-pip ca-certificates postgresql nginx)

install_system_packages() {
  [[ "${SETUP_TEST_ENV_SYSTEM:-1}" == 0 ]] && return 0
  if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    log "not a Debian-like system: make sure these are installed: ${SYSTEM_PACKAGES[*]} (chromium at /usr/bin/chromium)"
    return 0
  fi
  local missing=() package
  for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    log "system packages present: ${SYSTEM_PACKAGES[*]}"
    return 0
  fi
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null \
      || die "missing system packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}"
    sudo=(sudo -n)
  fi
  log "installing system packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get could not install: ${missing[*]}"
}

install_system_packages

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install python3 (Debian: apt-get install python3)"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$PYTHON is $("$PYTHON" -V 2>&1); the mcp SDK needs Python >= 3.10"
PY_VERSION="$("$PYTHON" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }


# Verify the interpreter can create venvs with pip before touching anything.
check_venv_support() {
  if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    die "$PYTHON cannot create virtual environments with pip (module venv/ensurepip missing).
  On Debian/Ubuntu: apt-get install -y python3-venv   (.ci/run does this for you)"
  fi
}

# setup_venv <dir-name> <requirements-file> <import-check>
setup_venv() {
  local name="$1" req="$2" check="$3"
  local dir="$ROOT/$name"
  local want have=""
  want="$(sha256_of "$req") python-$PY_VERSION"
  [[ -f "$dir/$STAMP_NAME" ]] && have="$(cat "$dir/$STAMP_NAME")"

  if [[ "${SETUP_TEST_ENV_FORCE:-0}" != 1 && "$have" == "$want" && -x "$dir/bin/python" ]] \
     && "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
    log "$name is up to date ($(grep -Ev '^\s*(#|$)' "$req" | tr '\n' ' '))"
    return 0
  fi

  check_venv_support
  log "creating $name with $PYTHON ($PY_VERSION) from ${req#"$ROOT"/}"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
  "$dir/bin/python" -m pip check >/dev/null || { "$dir/bin/python" -m pip check; die "$name: broken dependencies"; }
  "$dir/bin/python" -c "$check" || die "$name: import check failed: $check"
  printf '%s\n' "$want" > "$dir/$STAMP_NAME"
  log "$name ready: $("$dir/bin/python" -m pip freeze --disable-pip-version-check | grep -iE '^(mcp|openapi-spec-validator)==' | tr '\n' ' ')"
}

setup_venv .venv-mcp1 "$ROOT/scripts/python-requirements-mcp1.txt" \
  'import mcp.server.fastmcp, mcp.server.lowlevel, openapi_spec_validator; from importlib.metadata import version; assert version("mcp").startswith("1.")'
setup_venv .venv-mcp2 "$ROOT/scripts/python-requirements-mcp2.txt" \
  'from mcp.server.mcpserver import MCPServer; import openapi_spec_validator; from importlib.metadata import version; assert version("mcp").startswith("2.")'

log "Python fixture environments:"
log "  mcp 1.x: $ROOT/.venv-mcp1/bin/python  (Tests/Fixtures/python/fastmcp_v1.py, lowlevel_v1.py)"
log "  mcp 2.x: $ROOT/.venv-mcp2/bin/python  (Tests/Fixtures/python/mcpserver_v2.py)"
log "  OpenAPI validator: $ROOT/.venv-mcp1/bin/openapi-spec-validator <file>"
