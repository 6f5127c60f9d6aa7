#!/usr/bin/env bash
# Run Jupyter for the proxy benchmark, first leaving the server's port and
# token where the benchmark can read them, so it can also talk to the
# same server directly.
set -euo pipefail
printf '%s %s\n' "$SPARKHUB_PORT" "$JUPYTER_TOKEN" > "$PWD/.bench-direct"
exec jupyter-notebook "$@"
