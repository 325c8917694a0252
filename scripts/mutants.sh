#!/usr/bin/env bash
# The mutation run of the protocol core (configured in .cargo/mutants.toml), made as cheap per
# mutant as it can be: release builds kept incremental (a mutant changes one function), and the
# catalogue checked smallest model first, stopping at the first model not as expected.
# Arguments go to `cargo mutants`, e.g. `scripts/mutants.sh --shard 0/8 --sharding round-robin`.
# Needs `cargo install cargo-mutants`. Not part of the test gate: the whole run takes hours.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_RELEASE_INCREMENTAL=true
export GROUPCHECK_CATALOGUE_FAIL_FAST=1
exec cargo mutants "$@"
