#!/usr/bin/env bash
# Validates deploy/kubernetes/*.yaml against Kubernetes' own schemas, offline (kubernetes-validate from PyPI,
# pinned, in .venv-deploy; it carries the schemas). Strict: unknown fields are errors.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-deploy"
PIN="kubernetes-validate==1.37.0"
PYTHON="${PYTHON:-python3}"
if [[ ! -x "$VENV/bin/kubernetes-validate" || "$(cat "$VENV/.stamp" 2>/dev/null)" != "$PIN" ]]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input "$PIN"
  echo "$PIN" > "$VENV/.stamp"
fi
cd "$ROOT/deploy/kubernetes"
files=()
for file in *.yaml; do
  [[ "$file" == kustomization.yaml ]] || files+=("$file")
done
"$VENV/bin/kubernetes-validate" --strict --kubernetes-version 1.33.0 "${files[@]}"
