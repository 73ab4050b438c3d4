#!/usr/bin/env bash
# The whole test suite: typecheck every package, then each package's tests
# one package at a time (GPU tests share one software device on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
npx turbo run typecheck test --concurrency=1 --log-order=stream --output-logs=full
