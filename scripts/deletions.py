#!/usr/bin/env python3
"""Deletes each fencing, validation and durability check of the core in turn, rebuilds, runs
`groupcheck check --all --no-reports`, and prints which catalogue models then fail, and how.

Run from the repository root on a clean tree: `python3 scripts/deletions.py [N ...]` (N: run
only those rows). Each row names the check, the file, the exact text deleted (or replaced).
The file is restored after each row. The table in docs/model-fidelity.md comes from this.
About 100 s a row on 2 cores; a check that runs past 10 minutes, or past 16 GiB of memory
(of the 24 GiB of the machine it was written on), is reported as not terminating, with the
model it was on.
"""
import json
import re
import resource
import subprocess
import sys

# The address space a check may take: a deletion can make a model's state space unbounded.
MEMORY_CAP = 16 << 30


def capped():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def unfinished(stdout, stderr):
    """The models a stopped check was still on: `check --all --threads 2` checks two at a
    time, so the last two whose progress lines (stderr) came. (Blocks are printed in catalogue
    order, so stdout does not say which models were done.)"""
    seen = re.findall(r"… (\S+): \d+ states", stderr)
    running = list(dict.fromkeys(reversed(seen)))[:2]
    return " or ".join(running) or "a model"

CORE = "src/coordinator/mod.rs"
CLASSIC = "src/coordinator/classic/mod.rs"
D = [
 ("join: the member's identity (unknown member id, replaced static member) is checked", CLASSIC,
  "if let Err(error) = self.validate_identity(id, instance) {\n            replies.push(join_error", "if let Err(error) = Ok::<(), ErrorCode>(()) {\n            replies.push(join_error"),
 ("member check (every member request): not a member -> UNKNOWN_MEMBER_ID", CLASSIC,
  "        if self.group.is_member(id) {\n            Ok(())", "        if true {\n            Ok(())"),
 ("member check (SyncGroup, Heartbeat, OffsetCommit): generation -> ILLEGAL_GENERATION", CLASSIC,
  "        if generation != self.group.generation {\n            Err(ErrorCode::IllegalGeneration)", "        if false {\n            Err(ErrorCode::IllegalGeneration)"),
 ("sync and heartbeat: PreparingRebalance -> REBALANCE_IN_PROGRESS", CLASSIC,
  "            GroupState::PreparingRebalance => Err(ErrorCode::RebalanceInProgress),\n            _ => Ok(()),", "            _ => Ok(()),"),
 ("sync: only the leader's SyncGroup writes the assignment", CLASSIC,
  "if self.group.leader != Some(id) || already_writing {", "if already_writing {"),
 ("sync: one assignment write per generation", CLASSIC,
  "if self.group.leader != Some(id) || already_writing {", "if self.group.leader != Some(id) {"),
 ("leave: the member's identity (unknown member id, replaced static member) is checked", CLASSIC,
  "if let Err(error) = self.validate_identity(id, instance) {\n            return error;", "if let Err(error) = Ok::<(), ErrorCode>(()) {\n            return error;"),
 ("commit: CompletingRebalance -> REBALANCE_IN_PROGRESS", CLASSIC,
  "            GroupState::CompletingRebalance => Err(ErrorCode::RebalanceInProgress),\n", ""),
 ("durable assignment installed only in its own CompletingRebalance generation", CLASSIC,
  "        if self.group.state == GroupState::CompletingRebalance\n            && self.group.generation == generation\n        {", "        if true {"),
 ("consumer: fenced (UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION) drops its partitions", "src/consumer/mod.rs",
  "        if forget_member_id {\n            self.member_id = None;\n        }\n        self.drop_partitions();\n", "        if forget_member_id {\n            self.member_id = None;\n        }\n"),
 ("coordinator: a member with a parked JoinGroup/SyncGroup cannot expire", CLASSIC,
  "                    m.is_new || (m.awaiting_join.is_none() && m.awaiting_sync.is_none())", "                    true"),
 ("append refused: unload (NOT_COORDINATOR)", CORE,
  "                replies.extend(self.stop_leading(cfg));\n                false", "                false"),
 ("join: a follower of a Stable group gets its generation back without a rebalance", CLASSIC,
  "            GroupState::Stable if unchanged && self.group.leader != Some(id) => {", "            GroupState::Stable if false => {"),
 ("leave: a pending (KIP-394) member's leave removes it", CLASSIC,
  "        if let Some(at) = self.group.pending_members.iter().position(|p| *p == id) {\n            self.group.pending_members.remove(at);\n            self.maybe_complete_join(log, cfg, replies);\n            return ErrorCode::None;\n        }\n", ""),
 ("log: an append from a stale leader epoch is refused", "src/offsets_log.rs",
  "        if leader_epoch != self.leader_epoch {\n            return Err(AppendError::NotLeaderOrFollower);\n        }\n", ""),
 ("loading: SyncGroup -> REBALANCE_IN_PROGRESS", CORE,
  "                Request::SyncGroup { .. } => Err(ErrorCode::RebalanceInProgress),\n", ""),
 ("controller: a stale StartLeading is ignored", CORE,
  "        if self.epoch < epoch {\n            self.start_loading(epoch, cfg)", "        if true {\n            self.start_loading(epoch, cfg)"),
 ("controller: a broker that unloads remembers the epoch it was told of", CORE,
  "            let replies = self.stop_leading(cfg);\n            self.epoch = epoch;\n", "            let replies = self.stop_leading(cfg);\n"),
 ("controller: a stale StopLeading is ignored", CORE,
  "        if self.epoch < epoch {\n            let replies = self.stop_leading(cfg);", "        if true {\n            let replies = self.stop_leading(cfg);"),
 ("static: an instance mapped to another member id -> FENCED_INSTANCE_ID", CLASSIC,
  "                Some(current) if current != id => return Err(ErrorCode::FencedInstanceId),\n", ""),
 ("static: a restart answers the old member's parked JoinGroup/SyncGroup FENCED_INSTANCE_ID", CLASSIC,
  "        if let Some(to) = replaced.awaiting_join {\n            replies.push(join_error(to, Some(old), ErrorCode::FencedInstanceId));\n        }\n        if let Some(to) = replaced.awaiting_sync {\n            let generation = self.group.generation;\n            let error = ErrorCode::FencedInstanceId;\n            replies.push(sync_reply(to, old, generation, error, Partitions::EMPTY));\n        }\n", ""),
 ("static: a restart in Stable is answered only once its new member id is durable", CLASSIC,
  "            GroupState::Stable if cfg.flaws.has(Flaw::StaticReplaceNotPersisted) => {", "            GroupState::Stable if true => {"),
 ("static: a restart during CompletingRebalance starts a new rebalance", CLASSIC,
  "            GroupState::CompletingRebalance if cfg.flaws.has(Flaw::StaticJoinInCompleting) => {", "            GroupState::CompletingRebalance if true => {"),
 ("static: a restart replaces the old member in every group state", CLASSIC,
  "            cfg.flaws.has(Flaw::StaticReplaceOnlyWhenStable) && state != GroupState::Stable;", "            state != GroupState::Stable;"),
 ("loading: Heartbeat -> NONE", CORE,
  "                Request::Heartbeat { .. } => Err(ErrorCode::None),\n", ""),
 ("pending-sync timer: runs on in Stable", CLASSIC,
  "                GroupState::CompletingRebalance | GroupState::Stable\n            )\n            && !self.pending_sync()", "                GroupState::CompletingRebalance\n            )\n            && !self.pending_sync()"),
 ("rebalance timeout: removes the dynamic members when nobody rejoined", CLASSIC,
  ".any(|m| m.awaiting_join.is_some() || !m.is_static())", ".any(|m| m.awaiting_join.is_some())"),
]
only = sys.argv[1:]
for i, (name, path, old, new) in enumerate(D):
    if only and str(i) not in only:
        continue
    original = open(path).read()
    if original.count(old) != 1:
        print(json.dumps([name, f"text to delete found {original.count(old)} times"]), flush=True)
        continue
    try:
        open(path, "w").write(original.replace(old, new))
        b = subprocess.run(["cargo", "build", "--release", "-q"], capture_output=True, text=True)
        if b.returncode != 0:
            print(json.dumps([name, "build failed: " + b.stderr[-300:]]), flush=True)
            continue
        # A deletion can make a model's state space unbounded (an instance taken back and forth
        # forever): the whole catalogue takes about a minute, so ten is "does not terminate".
        stuck = []
        try:
            r = subprocess.run(
                ["./target/release/groupcheck", "check", "--all", "--no-reports", "--threads", "2"],
                capture_output=True,
                text=True,
                timeout=600,
                preexec_fn=capped,
            )
            stdout, stderr = r.stdout, r.stderr
            if re.search(r"memory allocation of \d+ bytes failed", stderr):
                model = unfinished(stdout, stderr)
                stuck = [f"{model}: does not terminate within {MEMORY_CAP >> 30} GiB"]
        except subprocess.TimeoutExpired as t:
            text = lambda b: b.decode() if isinstance(b, bytes) else (b or "")
            stdout, stderr = text(t.stdout), text(t.stderr)
            stuck = [f"{unfinished(stdout, stderr)}: does not terminate within 600 s"]
            stderr = ""
        fails, model = [], None
        for line in stdout.splitlines():
            m = re.match(r"== (\S+) ", line)
            if m:
                model = m.group(1)
            m = re.search(r"NOT AS EXPECTED: (.*)", line)
            if m:
                fails.append(f"{model}: {m.group(1)}")
        # A deletion that trips an assertion of the core (a panic) fails the check loudly too;
        # the model named is the one being checked when it did.
        panic = re.search(r"panicked at [^\n]*\n([^\n]*)", stderr)
        if panic:
            fails.append(f"{model}: panics: {panic.group(1)}")
        print(json.dumps([name, fails + stuck]), flush=True)
    finally:
        open(path, "w").write(original)
