#!/usr/bin/env bash
# Makes sure pcscd runs with the vpcd virtual reader, without systemd.
#
# Idempotent: a running pcscd is left alone; a stale socket left by a killed
# pcscd is removed first (pcscd refuses to start while it exists). pcscd
# forks into the background and is not given --auto-exit, so it stays up for
# the tests and the demo. Set PCSCD_LOG=FILE to run it in the foreground
# with debug and APDU logging written to FILE instead, for diagnosis only:
# APDU logging writes PINs and the keys of personalisation into FILE, so
# never use it with real cards and delete the file afterwards.
set -euo pipefail

run_dir=/run/pcscd
socket="$run_dir/pcscd.comm"
pid_file="$run_dir/pcscd.pid"
vpcd_conf=/etc/reader.conf.d/vpcd

fail() {
    echo "pcscd-up: $*" >&2
    exit 1
}

[ -f "$vpcd_conf" ] ||
    fail "$vpcd_conf is missing: install the virtual reader (apt-get install vsmartcard-vpcd)"
command -v pcscd >/dev/null ||
    fail "pcscd is not installed (apt-get install pcscd)"

# Whether a process lives (a zombie, killed but not yet reaped, does not).
alive() {
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
    [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

# The pid of a live pcscd, from the pid file or else by exact process name.
pcscd_pid() {
    local pid
    if [ -f "$pid_file" ]; then
        pid="$(tr -dc '0-9' <"$pid_file")"
        if [ -n "$pid" ] && alive "$pid"; then
            echo "$pid"
            return 0
        fi
    fi
    for pid in $(pgrep -x pcscd || true); do
        if alive "$pid"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

wait_for_socket() {
    for _ in $(seq 100); do
        [ -S "$socket" ] && return 0
        sleep 0.1
    done
    return 1
}

pid="$(pcscd_pid || true)"
if [ -n "$pid" ]; then
    wait_for_socket || fail "pcscd (pid $pid) runs but $socket did not appear within 10 s"
    echo "pcscd already running (pid $pid)"
else
    if [ -e "$socket" ] || [ -e "$pid_file" ]; then
        echo "pcscd-up: removing the stale $socket left by a pcscd that is gone"
        rm -f "$socket" "$pid_file"
    fi
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo -n true 2>/dev/null ||
            fail "pcscd is not running and starting it needs root (run as root, or start pcscd yourself)"
        sudo=(sudo -n)
    fi
    if [ -n "${PCSCD_LOG:-}" ]; then
        "${sudo[@]}" pcscd --foreground --debug --apdu >"$PCSCD_LOG" 2>&1 &
    else
        # Forks into the background once its socket is set up.
        "${sudo[@]}" pcscd
    fi
    wait_for_socket || fail "pcscd started but $socket did not appear within 10 s"
    echo "pcscd started (pid $(pcscd_pid || echo '?'))"
fi

# The vpcd driver is loaded from reader.conf.d at start-up; a pcscd that
# started before vsmartcard-vpcd was installed has no virtual readers.
if command -v pcsc_scan >/dev/null; then
    for _ in $(seq 30); do
        if timeout 5 pcsc_scan -r 2>/dev/null | grep -q 'Virtual PCD'; then
            exit 0
        fi
        sleep 0.2
    done
    fail "pcscd runs but shows no 'Virtual PCD' reader: restart it (kill \$(cat $pid_file); $0)"
fi
