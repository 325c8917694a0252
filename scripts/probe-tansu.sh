#!/usr/bin/env bash
# Probes Tansu 0.6.0, a Kafka-compatible broker written in Rust, with `groupcheck probe`, and
# writes reports/probe/tansu-0.6.0/. Outside the test gate: the first run builds Tansu under
# target/tansu (about 15 minutes on 2 cores). The broker runs on 127.0.0.1 with its memory
# storage and stops with the script.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=target/tansu
PORT=${PORT:-19092}
# The report's name (reports/probe/NAME/).
NAME=${NAME:-tansu-0.6.0}
# The session timeout: the shortest the broker accepts unless SESSION_MS is set.
SESSION=()
if [ -n "${SESSION_MS:-}" ]; then SESSION=(--session-timeout-ms "$SESSION_MS"); fi
if [ ! -x "$ROOT/bin/tansu" ]; then
  # Without dynostore its memory storage refuses to start.
  cargo install tansu --version 0.6.0 --locked --features dynostore --root "$ROOT"
fi
"$ROOT/bin/tansu" broker \
  --listener-url "tcp://127.0.0.1:$PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$PORT" >"$ROOT/broker.log" 2>&1 &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
sleep 1
"$ROOT/bin/tansu" topic create --broker "tcp://127.0.0.1:$PORT" --partitions 3 groupcheck-probe \
  >>"$ROOT/broker.log" 2>&1 || true
status=0
cargo run --release -- probe --bootstrap "127.0.0.1:$PORT" "${SESSION[@]}" --name "$NAME" \
  || status=$?
echo "probe exit code $status (0: nothing found, 1: findings, 2: could not probe)"
[ "$status" -le 1 ]
