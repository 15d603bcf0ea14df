#!/usr/bin/env bash
# Runs the service with demo data on the embedded SQLite database:
# http://127.0.0.1:8080 (the logins are printed on start).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec cargo run --release --bin fuelcard -- serve --demo --db "${FUELCARD_DEMO_DB:-fuelcard-demo.db}" --listen "${FUELCARD_LISTEN:-127.0.0.1:8080}"
