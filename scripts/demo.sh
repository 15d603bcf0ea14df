#!/usr/bin/env bash
# Runs the service with demo data on the embedded SQLite database:
# http://127.0.0.1:8080 (the logins are printed on start).
#
# Where pcscd and the virtual reader can run, a software card sits in the
# virtual reader ("Virtual PCD 00 00") so the chip pages work without
# hardware: open a card page, press "read card", write the blank chip for
# that card, then load value onto it. The demo's issuer keys and the card's
# file are kept beside the database.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh pcscd vsmartcard-vpcd
cargo build --release --bin fuelcard
bin=target/release/fuelcard
db="${FUELCARD_DEMO_DB:-fuelcard-demo.db}"
chip=()
if reader/scripts/pcscd-up.sh; then
    keys="${db%.db}-issuer-keys"
    card="${db%.db}-card.json"
    [ -f "$keys" ] || "$bin" card new-issuer-keys --out "$keys"
    sim=(reader sim --card "$card")
    [ -f "$card" ] || sim+=(--new)
    "$bin" "${sim[@]}" &
    sim_pid=$!
    trap 'kill "$sim_pid" 2>/dev/null || true' EXIT
    chip=(--reader "Virtual PCD 00 00" --issuer-keys "$keys")
    echo "a software card is in the virtual reader ($card)"
else
    echo "*** no pcscd with the virtual reader: the chip pages will say there is no reader ***"
fi
"$bin" serve --demo --db "$db" --listen "${FUELCARD_LISTEN:-127.0.0.1:8080}" "${chip[@]}"
