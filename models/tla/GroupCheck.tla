----------------------------- MODULE GroupCheck -----------------------------
(***************************************************************************)
(* Kafka's classic consumer-group protocol (eager rebalancing), as checked *)
(* by groupcheck -- transcribed by hand from the Rust model so that TLC    *)
(* and Stateright explore the *same* state space, state for state.         *)
(*                                                                         *)
(* THE PROTOCOL IN ONE PAGE.  A group of consumers shares the partitions   *)
(* of one topic.  The leader of the group's __consumer_offsets partition   *)
(* is the group's coordinator.  A consumer sends JoinGroup without a       *)
(* member id and is answered MEMBER_ID_REQUIRED with a fresh id (KIP-394); *)
(* it joins again with that id.  The coordinator waits until every known   *)
(* member has (re)joined, bumps the generation and answers every           *)
(* JoinGroup; the group leader alone receives the member list, computes    *)
(* the assignment (range assignor) and sends it in its SyncGroup.  The     *)
(* coordinator appends the assignment to the log and answers the parked    *)
(* SyncGroups only once that record is durable (the high watermark passed  *)
(* it): then the group is Stable.  Offsets are committed to the same log   *)
(* and acknowledged only once durable, and only from members of the        *)
(* current generation.  A heartbeat answered REBALANCE_IN_PROGRESS makes   *)
(* an eager consumer commit, give up every partition and rejoin.  When     *)
(* leadership of the log moves (a failover) the new leader truncates       *)
(* everything not yet durable, replays the durable log and takes over.     *)
(*                                                                         *)
(* THE MODEL.  Brokers, the log and consumers are independent actors that  *)
(* exchange messages over an unordered, non-duplicating network (a         *)
(* multiset).  Faults are budgeted actions: a consumer crash, the session  *)
(* expiry of a live consumer (or a rebalance timeout that removes one), a  *)
(* failover, a lost client message, a graceful close, a late start, and a  *)
(* late delivery (Abandon: the client gives up on a request still in the   *)
(* network and reconnects; the request may arrive later, its answer goes   *)
(* to the closed connection).  A request also times out (TimeOut, not a    *)
(* fault) when no answer can come: it is neither in the network nor parked *)
(* at a broker.  The durable log is kept in append order; the cleaner      *)
(* (Compact) is a step of its own, explored while the coordinator loads,   *)
(* and once no load is ahead the log is kept compacted.  These             *)
(* restrictions keep the space small and finite, exactly as in Rust:       *)
(*   - a Heartbeat is only explored when its answer would not be NONE;     *)
(*   - an orphan member's session (its process is gone) only expires once  *)
(*     the protocol is idle (nothing in flight, nothing unreplicated,      *)
(*     nothing loading);                                                   *)
(*   - while 3 batches wait for the high watermark, the leader's broker    *)
(*     takes no request (MaxUnreplicated);                                 *)
(*   - states whose generations in use span more than 4 are not explored   *)
(*     (MaxGenerationSpan, the CONSTRAINT WithinBoundary);                 *)
(*   - states are compared up to the numbering of generations and member   *)
(*     ids (the VIEW View, model/canonical.rs).                            *)
(*                                                                         *)
(* HOW TO READ THIS MODULE.  The Rust core is sans-IO: a handler takes the *)
(* coordinator (or consumer) state and returns the new state plus the      *)
(* messages to send.  We keep that shape: every handler below is a pure    *)
(* operator from a record to a record.  Coordinator handlers work on a     *)
(* context  S = [co |-> coordinator, log |-> offsets log, rep |-> replies] *)
(* and consumer handlers return  [k |-> consumer, send |-> request or      *)
(* NoSend].  A model step (Step) takes the whole world W -- a record whose *)
(* fields are exactly the TLA+ variables -- and returns the next world;    *)
(* Next assigns its fields to the primed variables.  Sequential Rust code  *)
(* thus becomes a chain of LETs, and the correspondence stays line by line.*)
(*                                                                         *)
(* ENCODINGS (each is a bijection, so distinct Rust states are distinct    *)
(* TLA+ states and vice versa; that is what makes the counts comparable):  *)
(*   Option<T> of an integer    ->  the integer, or None (= -1)            *)
(*   MemberId {epoch, seq}      ->  epoch * 100 + seq  (order preserved)   *)
(*   ClientAddr                 ->  [c |-> consumer, inc |-> incarnation,  *)
(*                                       conn |-> connection]              *)
(*   Partitions (a bitset)      ->  a set of partition numbers             *)
(*   a Vec sorted by a unique key (members by id, offsets by partition)    *)
(*                              ->  a function from that key               *)
(*   a Vec whose order is data (the durable log, in append order; pending  *)
(*   writes; KIP-394 pending members; the batches above the high           *)
(*   watermark)                 ->  a sequence                             *)
(*   the network, a sorted Vec of envelopes -> a bag (envelope -> count)   *)
(*   Observed bits              ->  a set of names                         *)
(* Flaws are not transcribed: this is the correct protocol only.           *)
(***************************************************************************)
EXTENDS Integers, Sequences, FiniteSets, TLC

CONSTANTS
    NConsumers,     \* consumers
    NPartitions,    \* partitions of the subscribed topic
    NBrokers,       \* brokers that can lead __consumer_offsets
    MaxOffset,      \* records per partition
    StartStable,    \* TRUE: start from the settled, formed group (start = "stable")
    LateJoins,      \* the last LateJoins consumers start only later
    MaxCrashes, MaxExpiries, MaxFailovers, MaxLost, MaxLeaves, MaxLate,  \* fault budget per kind
    MaxTotal        \* at most this many faults in all (late joins not counted); unset = 99

ASSUME NConsumers \in 1..6 /\ NPartitions \in 1..16 /\ NBrokers \in 1..4
ASSUME LateJoins < NConsumers /\ (MaxFailovers = 0 \/ NBrokers >= 2)

\* The Rust World, one variable per field.
VARIABLES
    brokers,    \* World.brokers:   broker id -> coordinator
    log,        \* World.log:       the __consumer_offsets partition
    consumers,  \* World.consumers: consumer number -> consumer
    started,    \* World.started:   set of consumers that have started (a bitset in Rust)
    network,    \* World.network:   bag of envelopes in flight
    used,       \* World.used:      faults used so far
    acked,      \* World.acked:     partition -> highest offset acknowledged to a committer
    observed    \* World.observed:  step-level violations seen (set of names)

vars == <<brokers, log, consumers, started, network, used, acked, observed>>

World == [brokers |-> brokers, log |-> log, consumers |-> consumers, started |-> started,
          network |-> network, used |-> used, acked |-> acked, observed |-> observed]

-----------------------------------------------------------------------------
(* Small helpers *)

None == -1
Parts == 0 .. NPartitions - 1
CIds == 0 .. NConsumers - 1
BIds == 0 .. NBrokers - 1
Max(a, b) == IF a > b THEN a ELSE b
Min(a, b) == IF a < b THEN a ELSE b
MinOf(S) == CHOOSE x \in S : \A y \in S : x <= y
MaxOf(S) == CHOOSE x \in S : \A y \in S : x >= y
RECURSIVE SortSet(_)
SortSet(S) == IF S = {} THEN <<>> ELSE LET m == MinOf(S) IN <<m>> \o SortSet(S \ {m})
RECURSIVE Flatten(_)
Flatten(ss) == IF ss = <<>> THEN <<>> ELSE Head(ss) \o Flatten(Tail(ss))
Opt(cond, x) == IF cond THEN <<x>> ELSE <<>>
InSeq(s, x) == \E i \in 1 .. Len(s) : s[i] = x
RemoveFrom(s, x) == SelectSeq(s, LAMBDA y : y # x)  \* the entries are unique
EmptyFn == [x \in {} |-> 0]

\* A bag (multiset) as a function from element to a positive count.
BagAdd(B, e) == IF e \in DOMAIN B THEN [B EXCEPT ![e] = @ + 1] ELSE (e :> 1) @@ B
BagRemove(B, e) == IF B[e] = 1 THEN [x \in DOMAIN B \ {e} |-> B[x]] ELSE [B EXCEPT ![e] = @ - 1]

\* protocol/ids.rs: a member id carries the leader epoch of the coordinator that minted it.
MemberId(epoch, seq) == IF seq < 100 THEN epoch * 100 + seq ELSE Assert(FALSE, "member seq overflow")
NoAddr == [c |-> -1, inc |-> -1, conn |-> -1]

-----------------------------------------------------------------------------
(* protocol/: requests, responses, records *)

JoinReq(mid) == [type |-> "JoinGroup", mid |-> mid]
SyncReq(mid, gen, assigns) == [type |-> "SyncGroup", mid |-> mid, gen |-> gen, assigns |-> assigns]
HbReq(mid, gen) == [type |-> "Heartbeat", mid |-> mid, gen |-> gen]
LeaveReq(mid) == [type |-> "LeaveGroup", mid |-> mid]
CommitReq(mid, gen, offs) == [type |-> "OffsetCommit", mid |-> mid, gen |-> gen, offsets |-> offs]
FetchReq(ps) == [type |-> "OffsetFetch", parts |-> ps]
RequestTypes == {"JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetCommit", "OffsetFetch"}

JoinResp(err, gen, mid, leader, members) ==
    [type |-> "JoinGroupResp", err |-> err, gen |-> gen, mid |-> mid, leader |-> leader, members |-> members]
SyncResp(err, mid, gen, a) == [type |-> "SyncGroupResp", err |-> err, mid |-> mid, gen |-> gen, assign |-> a]
HbResp(err) == [type |-> "HeartbeatResp", err |-> err]
LeaveResp(err) == [type |-> "LeaveGroupResp", err |-> err]
CommitResp(err, offs) == [type |-> "OffsetCommitResp", err |-> err, offsets |-> offs]
FetchResp(err, offs) == [type |-> "OffsetFetchResp", err |-> err, offsets |-> offs]
StopLeadingMsg(epoch) == [type |-> "StopLeading", epoch |-> epoch]
\* (Control::StartLeading exists in Rust but is never sent: a failover starts the load directly.)

\* Response::error_for: the answer to a request that carries only an error.
ErrorFor(req, err) ==
    CASE req.type = "JoinGroup"    -> JoinResp(err, 0, req.mid, None, {})
      [] req.type = "SyncGroup"    -> SyncResp(err, req.mid, req.gen, {})
      [] req.type = "Heartbeat"    -> HbResp(err)
      [] req.type = "LeaveGroup"   -> LeaveResp(err)
      [] req.type = "OffsetCommit" -> CommitResp(err, req.offsets)
      [] req.type = "OffsetFetch"  -> FetchResp(err, EmptyFn)

Reply(to, resp) == [to |-> to, resp |-> resp]

\* Records of __consumer_offsets (tombstones are never written by the core).
GroupRec(gen, leader, members) == [rk |-> "Group", gen |-> gen, leader |-> leader, members |-> members]
OffsetRec(p, off, byMid, byGen) == [rk |-> "Offset", p |-> p, off |-> off, byMid |-> byMid, byGen |-> byGen]
Key(r) == IF r.rk = "Group" THEN -1 ELSE r.p

-----------------------------------------------------------------------------
(* offsets_log.rs: the __consumer_offsets partition *)

NewLog(leader) == [leader |-> leader, epoch |-> 0, durable |-> <<>>, uncommitted |-> <<>>]

\* The durable part is in append order: the latest record of a key is its value.
GroupIdx(lg) == {i \in 1 .. Len(lg.durable) : lg.durable[i].rk = "Group"}
HasDurableGroup(lg) == GroupIdx(lg) # {}
DurableGroup(lg) == lg.durable[MaxOf(GroupIdx(lg))]
DurableGeneration(lg) == IF HasDurableGroup(lg) THEN DurableGroup(lg).gen ELSE 0
DurableOffset(lg, p) ==
    LET I == {i \in 1 .. Len(lg.durable) : lg.durable[i].rk = "Offset" /\ lg.durable[i].p = p}
    IN IF I = {} THEN None ELSE lg.durable[MaxOf(I)].off

CommitIsLegit(lg, p, byMid, byGen) ==
    /\ HasDurableGroup(lg)
    /\ byGen = DurableGroup(lg).gen
    /\ byMid \in DOMAIN DurableGroup(lg).members
    /\ p \in DurableGroup(lg).members[byMid]
AssignmentIsDurable(lg, m, gen, a) ==
    /\ HasDurableGroup(lg)
    /\ DurableGroup(lg).gen = gen
    /\ m \in DOMAIN DurableGroup(lg).members
    /\ DurableGroup(lg).members[m] = a
AckIsUndurable(lg, p, o) == DurableOffset(lg, p) = None \/ DurableOffset(lg, p) < o
FetchIsUndurable(lg, p, served) == served # None /\ served # DurableOffset(lg, p)

\* replicate_one: the oldest batch becomes durable, appended as it is.
ReplicateOne(lg) == [lg EXCEPT !.durable = @ \o Head(lg.uncommitted), !.uncommitted = Tail(@)]

\* The log cleaner (offsets_log::compacted): a record goes when a later one has its key (the
\* core writes no tombstones); the latest record of each key stays, in log order.
CleanedAway(d, i) == \E j \in (i + 1) .. Len(d) : Key(d[j]) = Key(d[i])
Compacted(d) == LET keep == SortSet({i \in 1 .. Len(d) : ~CleanedAway(d, i)})
                IN [j \in 1 .. Len(keep) |-> d[keep[j]]]
Compactable(lg) == \E i \in 1 .. Len(lg.durable) : CleanedAway(lg.durable, i)
Compact(lg) == [lg EXCEPT !.durable = Compacted(@)]
Elect(lg, to) == [lg EXCEPT !.leader = to, !.epoch = @ + 1, !.uncommitted = <<>>]

\* coordinator/replay.rs: what the durable log denotes.
EmptySnap == [gen |-> 0, leader |-> None, members |-> EmptyFn, offsets |-> [p \in Parts |-> None]]
RECURSIVE Replay(_, _)
Replay(snap, d) ==
    IF d = <<>> THEN snap
    ELSE LET r == Head(d)
         IN Replay(IF r.rk = "Group"
                   THEN [snap EXCEPT !.gen = r.gen, !.leader = r.leader, !.members = r.members]
                   ELSE [snap EXCEPT !.offsets[r.p] = r.off], Tail(d))

-----------------------------------------------------------------------------
(* assignor/mod.rs: the range assignor, members in id order *)

RangeAssign(ids) ==
    IF ids = {} THEN EmptyFn
    ELSE LET sorted == SortSet(ids)
             n == Len(sorted)
             per == NPartitions \div n
             extra == NPartitions % n
             first(i) == (i - 1) * per + Min(i - 1, extra)
             take(i) == per + (IF i - 1 < extra THEN 1 ELSE 0)
             pos(m) == CHOOSE i \in 1 .. n : sorted[i] = m
         IN [m \in ids |-> {q \in Parts : q >= first(pos(m)) /\ q < first(pos(m)) + take(pos(m))}]

-----------------------------------------------------------------------------
(* coordinator/: the group coordinator (group.rs, mod.rs) *)

EmptyGroup == [state |-> "Empty", gen |-> 0, leader |-> None, members |-> EmptyFn, pend |-> <<>>]
NewMember == [assign |-> {}, aj |-> NoAddr, asy |-> NoAddr, isNew |-> FALSE, ps |-> FALSE]
    \* aj: a parked JoinGroup (awaiting_join), asy: a parked SyncGroup (awaiting_sync),
    \* ps: answered in the last join phase and no SyncGroup heard since (pending_sync)

Idle(b) == [broker |-> b, load |-> "NotCoordinator", epoch |-> 0,
            group |-> [EmptyGroup EXCEPT !.state = "Dead"],
            offsets |-> [p \in Parts |-> None], pending |-> <<>>, nextSeq |-> 0]
ActiveCo(b, epoch) == [Idle(b) EXCEPT !.load = "Active", !.epoch = epoch, !.group = EmptyGroup]

PendAssign(gen, assigns) == [kind |-> "Assignment", gen |-> gen, assigns |-> assigns]
PendOffsets(to, offs) == [kind |-> "Offsets", to |-> to, offsets |-> offs, acked |-> FALSE]
PendUnawaited == [kind |-> "Unawaited"]

JoinError(to, mid, err) == Reply(to, JoinResp(err, 0, mid, None, {}))
SyncReply(to, id, gen, err, a) == Reply(to, SyncResp(err, id, gen, a))
JoinReply(g, to, id) ==
    Reply(to, JoinResp("NONE", g.gen, id, g.leader, IF g.leader = id THEN DOMAIN g.members ELSE {}))

\* Group.add / Group.remove: the first member of an empty group leads it; when the leader
\* leaves, the member with the lowest id leads.
GroupAdd(g, id, m) == [g EXCEPT !.leader = IF @ = None THEN id ELSE @, !.members = (id :> m) @@ @]
GroupRemove(g, id) ==
    LET rest == DOMAIN g.members \ {id}
    IN [g EXCEPT !.members = [x \in rest |-> g.members[x]],
                 !.leader = IF @ = id THEN (IF rest = {} THEN None ELSE MinOf(rest)) ELSE @]
AllJoined(g) == g.pend = <<>> /\ \A id \in DOMAIN g.members : g.members[id].aj # NoAddr

\* Leadership: unload fails every parked request and pending commit with NOT_COORDINATOR.
Unload(co) ==
    LET g == co.group
        ids == SortSet(DOMAIN g.members)
        mr == Flatten([i \in 1 .. Len(ids) |->
                LET m == g.members[ids[i]]
                IN Opt(m.aj # NoAddr, JoinError(m.aj, ids[i], "NOT_COORDINATOR"))
                   \o Opt(m.asy # NoAddr, SyncReply(m.asy, ids[i], g.gen, "NOT_COORDINATOR", {}))])
        pr == Flatten([i \in 1 .. Len(co.pending) |->
                LET w == co.pending[i]
                IN IF w.kind = "Offsets" /\ ~w.acked
                   THEN <<Reply(w.to, CommitResp("NOT_COORDINATOR", w.offsets))>> ELSE <<>>])
    IN mr \o pr
StartLoading(co, epoch) ==
    [co |-> [Idle(co.broker) EXCEPT !.load = "Loading", !.epoch = epoch, !.group = EmptyGroup],
     rep |-> Unload(co)]
StopLeading(co) == [co |-> Idle(co.broker), rep |-> Unload(co)]

FinishLoadingCo(co, durable) ==
    LET s == Replay(EmptySnap, durable)
    IN [co EXCEPT !.group = [state |-> IF DOMAIN s.members = {} THEN "Empty" ELSE "Stable",
                             gen |-> s.gen, leader |-> s.leader,
                             members |-> [id \in DOMAIN s.members |->
                                             [NewMember EXCEPT !.assign = s.members[id]]],
                             pend |-> <<>>],
                  !.offsets = s.offsets, !.load = "Active"]

\* install_assignment: answer every parked SyncGroup, become Stable.
InstallAssignment(co, assigns) ==
    LET g == co.group
        ids == SortSet(DOMAIN g.members)
        asg(id) == IF id \in DOMAIN assigns THEN assigns[id] ELSE {}
        rep == Flatten([i \in 1 .. Len(ids) |->
                 Opt(g.members[ids[i]].asy # NoAddr,
                     SyncReply(g.members[ids[i]].asy, ids[i], g.gen, "NONE", asg(ids[i])))])
    IN [co |-> [co EXCEPT !.group.members =
                              [id \in DOMAIN g.members |->
                                  [g.members[id] EXCEPT !.assign = asg(id), !.asy = NoAddr]],
                          !.group.state = "Stable"],
        rep |-> rep]

\* on_batch_durable: the oldest pending batch is durable; complete what waited for it.
OnBatchDurable(co) ==
    IF co.pending = <<>> THEN [co |-> co, rep |-> <<>>]
    ELSE LET w == Head(co.pending)
             c1 == [co EXCEPT !.pending = Tail(@)]
         IN IF w.kind = "Assignment"
            THEN IF c1.group.state = "CompletingRebalance" /\ c1.group.gen = w.gen
                 THEN InstallAssignment(c1, w.assigns)
                 ELSE [co |-> c1, rep |-> <<>>]
            ELSE IF w.kind = "Offsets"
            THEN [co |-> [c1 EXCEPT !.offsets = [p \in Parts |->
                                IF p \in DOMAIN w.offsets THEN w.offsets[p] ELSE c1.offsets[p]]],
                  rep |-> <<Reply(w.to, CommitResp("NONE", w.offsets))>>]
            ELSE [co |-> c1, rep |-> <<>>]

(* Handlers on a context S = [co, log, rep]. *)
G(S) == S.co.group
SetG(S, g) == [S EXCEPT !.co.group = g]
Emit1(S, r) == [S EXCEPT !.rep = @ \o <<r>>]
CanAppend(S) == S.co.epoch = S.log.epoch
\* append: accepted only from the current leader epoch; refused, the coordinator unloads.
DoAppend(S, batch) ==
    IF CanAppend(S) THEN [S EXCEPT !.log.uncommitted = Append(@, batch)]
    ELSE LET r == StopLeading(S.co) IN [S EXCEPT !.co = r.co, !.rep = @ \o r.rep]

PrepareRebalance(S) ==
    LET g == G(S) IN
    IF g.state = "CompletingRebalance"
    THEN \* the assignment being synced is void: release the parked SyncGroups
         LET ids == SortSet(DOMAIN g.members)
             rep == Flatten([i \in 1 .. Len(ids) |->
                      Opt(g.members[ids[i]].asy # NoAddr,
                          SyncReply(g.members[ids[i]].asy, ids[i], g.gen, "REBALANCE_IN_PROGRESS", {}))])
             g2 == [g EXCEPT !.members = [id \in DOMAIN g.members |->
                                            [g.members[id] EXCEPT !.assign = {}, !.asy = NoAddr,
                                                                  !.ps = FALSE]],
                             !.state = "PreparingRebalance"]
         IN [SetG(S, g2) EXCEPT !.rep = @ \o rep]
    ELSE \* the pending-sync timer is cancelled
         SetG(S, [g EXCEPT !.state = "PreparingRebalance",
                           !.members = [id \in DOMAIN g.members |-> [g.members[id] EXCEPT !.ps = FALSE]]])

\* complete_join: members that did not rejoin are removed (removing them one by one in id
\* order, as Rust does, leaves the leader in place if it rejoined and otherwise gives the lead
\* to the lowest rejoined id), the generation is bumped, every parked JoinGroup is answered.
CompleteJoin(S) ==
    LET g == G(S)
        gone == {id \in DOMAIN g.members : g.members[id].aj = NoAddr}
        kept == DOMAIN g.members \ gone
        gen == g.gen + 1
    IN IF kept = {}
       THEN LET S1 == SetG(S, [g EXCEPT !.members = EmptyFn, !.gen = gen, !.state = "Empty",
                                        !.leader = None])
                S2 == DoAppend(S1, <<GroupRec(gen, None, EmptyFn)>>)
            IN IF CanAppend(S1) THEN [S2 EXCEPT !.co.pending = Append(@, PendUnawaited)] ELSE S2
       ELSE LET leader == IF g.leader \in gone THEN MinOf(kept) ELSE g.leader
                g2 == [g EXCEPT !.members = [id \in kept |->
                                   [g.members[id] EXCEPT !.assign = {}, !.isNew = FALSE, !.aj = NoAddr,
                                                         !.ps = TRUE]],
                                !.gen = gen, !.leader = leader, !.state = "CompletingRebalance"]
                ids == SortSet(kept)
            IN [SetG(S, g2) EXCEPT !.rep = @ \o [i \in 1 .. Len(ids) |->
                                                  JoinReply(g2, g.members[ids[i]].aj, ids[i])]]

MaybeCompleteJoin(S) ==
    IF G(S).state = "PreparingRebalance" /\ AllJoined(G(S)) THEN CompleteJoin(S) ELSE S

JoinGroupH(S, from, mid) ==
    LET g == G(S) IN
    IF mid = None
    THEN \* KIP-394: hand out an id; the client must come back with it
         LET id == MemberId(S.co.epoch, S.co.nextSeq)
         IN Emit1([S EXCEPT !.co.nextSeq = @ + 1, !.co.group.pend = Append(@, id)],
                  JoinError(from, id, "MEMBER_ID_REQUIRED"))
    ELSE IF InSeq(g.pend, mid)
    THEN LET g1 == GroupAdd([g EXCEPT !.pend = RemoveFrom(@, mid)], mid,
                            [NewMember EXCEPT !.aj = from, !.isNew = TRUE])
             S1 == SetG(S, g1)
         IN MaybeCompleteJoin(IF g1.state # "PreparingRebalance" THEN PrepareRebalance(S1) ELSE S1)
    ELSE IF mid \notin DOMAIN g.members THEN Emit1(S, JoinError(from, mid, "UNKNOWN_MEMBER_ID"))
    ELSE LET parked == SetG(S, [g EXCEPT !.members[mid].aj = from]) IN
         IF g.state = "PreparingRebalance" THEN MaybeCompleteJoin(parked)
         ELSE IF g.state = "CompletingRebalance" THEN Emit1(S, JoinReply(g, from, mid))
         ELSE IF g.state = "Stable" /\ g.leader # mid THEN Emit1(S, JoinReply(g, from, mid))
         ELSE IF g.state = "Stable" THEN MaybeCompleteJoin(PrepareRebalance(parked))
         ELSE Emit1(S, JoinError(from, mid, "UNKNOWN_MEMBER_ID"))

SyncGroupH(S, from, id, gen, assigns) ==
    LET g == G(S)
        err == IF id \notin DOMAIN g.members THEN "UNKNOWN_MEMBER_ID"
               ELSE IF gen # g.gen THEN "ILLEGAL_GENERATION"
               ELSE IF g.state = "PreparingRebalance" THEN "REBALANCE_IN_PROGRESS"
               ELSE "NONE"
    IN IF err # "NONE" THEN Emit1(S, SyncReply(from, id, gen, err, {}))
       ELSE IF g.state = "Stable"
       THEN Emit1(SetG(S, [g EXCEPT !.members[id].ps = FALSE]),
                  SyncReply(from, id, gen, "NONE", g.members[id].assign))
       ELSE \* CompletingRebalance: park until the leader's assignment is durable
            LET S1 == SetG(S, [g EXCEPT !.members[id].asy = from, !.members[id].ps = FALSE])
                writing == \E i \in 1 .. Len(S.co.pending) :
                               S.co.pending[i].kind = "Assignment" /\ S.co.pending[i].gen = gen
                full == [m \in DOMAIN g.members |-> IF m \in DOMAIN assigns THEN assigns[m] ELSE {}]
                S2 == DoAppend(S1, <<GroupRec(gen, g.leader, full)>>)
            IN IF g.leader # id \/ writing THEN S1
               ELSE IF CanAppend(S1) THEN [S2 EXCEPT !.co.pending = Append(@, PendAssign(gen, full))]
               ELSE S2

\* The Heartbeat answer; pure, so the model may ask without sending.
HeartbeatError(co, id, gen) ==
    IF co.load = "NotCoordinator" THEN "NOT_COORDINATOR"
    ELSE IF co.load = "Loading" THEN "NONE"
    ELSE IF co.group.state = "Dead" THEN "COORDINATOR_NOT_AVAILABLE"
    ELSE IF id \notin DOMAIN co.group.members THEN "UNKNOWN_MEMBER_ID"
    ELSE IF gen # co.group.gen THEN "ILLEGAL_GENERATION"
    ELSE IF co.group.state = "PreparingRebalance" THEN "REBALANCE_IN_PROGRESS"
    ELSE "NONE"

RemoveMember(S, id) ==
    LET g == G(S)
        S1 == IF id \in DOMAIN g.members
              THEN LET m == g.members[id]
                   IN [SetG(S, GroupRemove(g, id)) EXCEPT !.rep = @
                         \o Opt(m.aj # NoAddr, JoinError(m.aj, id, "UNKNOWN_MEMBER_ID"))
                         \o Opt(m.asy # NoAddr, SyncReply(m.asy, id, g.gen, "UNKNOWN_MEMBER_ID", {}))]
              ELSE S
        S2 == IF G(S1).state \in {"Stable", "CompletingRebalance"} THEN PrepareRebalance(S1) ELSE S1
    IN MaybeCompleteJoin(S2)

LeaveGroupH(S, id) ==
    LET g == G(S) IN
    IF InSeq(g.pend, id)
    THEN [s |-> MaybeCompleteJoin(SetG(S, [g EXCEPT !.pend = RemoveFrom(@, id)])), err |-> "NONE"]
    ELSE IF id \notin DOMAIN g.members THEN [s |-> S, err |-> "UNKNOWN_MEMBER_ID"]
    ELSE [s |-> RemoveMember(S, id), err |-> "NONE"]

OffsetCommitH(S, from, id, gen, offs) ==
    LET g == G(S)
        err == IF id \notin DOMAIN g.members THEN "UNKNOWN_MEMBER_ID"
               ELSE IF gen # g.gen THEN "ILLEGAL_GENERATION"
               ELSE IF g.state = "CompletingRebalance" THEN "REBALANCE_IN_PROGRESS"
               ELSE "NONE"
        ps == SortSet(DOMAIN offs)
        batch == [i \in 1 .. Len(ps) |-> OffsetRec(ps[i], offs[ps[i]], id, gen)]
    IN IF err # "NONE" THEN Emit1(S, Reply(from, CommitResp(err, offs)))
       ELSE IF CanAppend(S)
       THEN [DoAppend(S, batch) EXCEPT !.co.pending = Append(@, PendOffsets(from, offs))]
       ELSE Emit1(DoAppend(S, batch), Reply(from, CommitResp("NOT_COORDINATOR", offs)))

\* Timers.
CanExpire(co, id) ==
    /\ co.load = "Active"
    /\ \/ InSeq(co.group.pend, id)
       \/ /\ id \in DOMAIN co.group.members
          /\ \/ co.group.members[id].isNew
             \/ co.group.members[id].aj = NoAddr /\ co.group.members[id].asy = NoAddr
ExpireSessionH(S, id) ==
    IF ~CanExpire(S.co, id) THEN S
    ELSE IF InSeq(G(S).pend, id)
    THEN MaybeCompleteJoin(SetG(S, [G(S) EXCEPT !.pend = RemoveFrom(@, id)]))
    ELSE RemoveMember(S, id)
\* Some member rejoined (the phase ends without the others), or none did and the (dynamic)
\* members are removed all the same (Kafka's onCompleteJoin): any member at all, here.
CanTimeOutJoin(co) ==
    /\ co.load = "Active"
    /\ co.group.state = "PreparingRebalance"
    /\ DOMAIN co.group.members # {}
    /\ ~AllJoined(co.group)
RebalanceTimeoutH(S) == IF CanTimeOutJoin(S.co) THEN CompleteJoin(S) ELSE S

\* parks_request_of: a JoinGroup or SyncGroup that arrived on `to` is parked here, or an
\* OffsetCommit from it waits for durability.
ParksRequestOf(co, to) ==
    \/ \E id \in DOMAIN co.group.members : co.group.members[id].aj = to \/ co.group.members[id].asy = to
    \/ \E i \in 1 .. Len(co.pending) :
          co.pending[i].kind = "Offsets" /\ co.pending[i].to = to /\ ~co.pending[i].acked

\* check_serving. (An Active coordinator's group is never Dead in the model: groups are never
\* deleted. The first arm is transcribed all the same.)
CheckServing(co, req) ==
    IF co.load = "Active" /\ co.group.state = "Dead" /\ req.type # "OffsetFetch"
    THEN "COORDINATOR_NOT_AVAILABLE"
    ELSE IF co.load = "Active" THEN "OK"
    ELSE IF co.load = "NotCoordinator" THEN "NOT_COORDINATOR"
    ELSE IF req.type = "Heartbeat" THEN "NONE"            \* "respond just blindly"
    ELSE IF req.type = "SyncGroup" THEN "REBALANCE_IN_PROGRESS"
    ELSE "COORDINATOR_LOAD_IN_PROGRESS"

\* Coordinator::handle: one request arriving on connection `from`.
Handle(S, from, req) ==
    LET chk == CheckServing(S.co, req) IN
    IF chk # "OK" THEN Emit1(S, Reply(from, ErrorFor(req, chk)))
    ELSE CASE req.type = "JoinGroup" -> JoinGroupH(S, from, req.mid)
           [] req.type = "SyncGroup" -> SyncGroupH(S, from, req.mid, req.gen, req.assigns)
           [] req.type = "Heartbeat" ->
                  Emit1(S, Reply(from, HbResp(HeartbeatError(S.co, req.mid, req.gen))))
           [] req.type = "LeaveGroup" ->
                  LET r == LeaveGroupH(S, req.mid)
                  IN Emit1(r.s, Reply(from, LeaveResp(IF r.s.co.load # "Active"
                                                       THEN "NOT_COORDINATOR" ELSE r.err)))
           [] req.type = "OffsetCommit" -> OffsetCommitH(S, from, req.mid, req.gen, req.offsets)
           [] req.type = "OffsetFetch" ->
                  Emit1(S, Reply(from, FetchResp("NONE", [q \in req.parts |-> S.co.offsets[q]])))

-----------------------------------------------------------------------------
(* consumer/mod.rs: the consumer client (ConsumerCoordinator, eager) *)

NoSend == [to |-> None]
SendTo(to, req) == [to |-> to, req |-> req]
R(k, s) == [k |-> k, send |-> s]

NewConsumer(inc) ==
    [inc |-> inc, conn |-> 0, phase |-> "Unjoined", coord |-> None, mid |-> None, gen |-> None,
     owned |-> {}, unfetched |-> {}, pos |-> [p \in Parts |-> 0],
     committed |-> [p \in Parts |-> 0], inflight |-> "none"]

Processable(k) == IF k.phase \in {"Revoking", "Leaving", "Closed"} THEN {} ELSE k.owned \ k.unfetched
UncommittedOf(k) ==
    [p \in {q \in k.owned \ k.unfetched : k.pos[q] > k.committed[q]} |-> k.pos[p]]
HasUncommitted(k) == \E q \in k.owned \ k.unfetched : k.pos[q] > k.committed[q]

CSend(k, kind, req) ==
    IF k.coord = None THEN R(k, NoSend) ELSE R([k EXCEPT !.inflight = kind], SendTo(k.coord, req))
SendJoin(k) == CSend([k EXCEPT !.phase = "Joining"], "Join", JoinReq(k.mid))
SendCommit(k, offs) ==
    IF k.mid = None \/ k.gen = None THEN R(k, NoSend) ELSE CSend(k, "Commit", CommitReq(k.mid, k.gen, offs))
DropPartitions(k) == [k EXCEPT !.owned = {}, !.unfetched = {}, !.pos = [p \in Parts |-> 0],
                               !.committed = [p \in Parts |-> 0]]
Shut(k) == [DropPartitions(k) EXCEPT !.phase = "Closed", !.mid = None, !.gen = None,
                                     !.coord = None, !.inflight = "none"]
RequestRejoin(k) ==
    IF k.phase = "Leaving" THEN k
    ELSE [k EXCEPT !.phase = IF k.owned = {} THEN "Unjoined" ELSE "Revoking"]
ResetGeneration(k, forget) ==
    LET k1 == DropPartitions([k EXCEPT !.gen = None, !.mid = IF forget THEN None ELSE @])
    IN IF k1.phase # "Leaving" THEN [k1 EXCEPT !.phase = "Unjoined"] ELSE k1
PrepareJoin(k) == [DropPartitions(k) EXCEPT !.phase = "Unjoined"]

\* The poll loop: send the next request the phase calls for, if nothing is in flight.
RECURSIVE Drive(_)
Drive(k) ==
    IF k.inflight # "none" \/ k.coord = None THEN R(k, NoSend)
    ELSE IF k.phase \in {"Revoking", "Leaving"}
    THEN LET offs == UncommittedOf(k) IN
         IF DOMAIN offs # {} THEN SendCommit(k, offs)
         ELSE IF k.phase = "Revoking" THEN SendJoin(PrepareJoin(k))
         ELSE IF k.mid # None THEN CSend(DropPartitions(k), "Leave", LeaveReq(k.mid))
         ELSE R(Shut(k), NoSend)
    ELSE IF k.phase \in {"Unjoined", "Joining"} THEN SendJoin(k)
    ELSE IF k.phase = "Syncing" THEN Drive(RequestRejoin(k))
    ELSE IF k.phase = "Stable" /\ k.unfetched # {} THEN CSend(k, "Fetch", FetchReq(k.unfetched))
    ELSE R(k, NoSend)

OnCoordinatorFound(k, b) == Drive([k EXCEPT !.coord = b])
Process(k, p) == IF p \in Processable(k) THEN [k EXCEPT !.pos[p] = @ + 1] ELSE k
CommitC(k) ==
    IF k.phase # "Stable" \/ k.inflight # "none" \/ ~HasUncommitted(k) THEN R(k, NoSend)
    ELSE SendCommit(k, UncommittedOf(k))
HeartbeatC(k) ==
    IF k.phase # "Stable" \/ k.inflight # "none" \/ k.mid = None \/ k.gen = None THEN R(k, NoSend)
    ELSE CSend(k, "Heartbeat", HbReq(k.mid, k.gen))
\* close: unjoined, it sends nothing; in the middle of a rebalance it gives up what it owns
\* (no final commit outside a Stable generation), drops its JoinGroup or SyncGroup (the answer
\* is ignored) and leaves at once. The model closes only Stable consumers (Next); the other
\* branches are the Rust consumer's, which recorded runs reach.
CloseC(k) ==
    IF k.phase = "Closed" THEN R(k, NoSend)
    ELSE IF k.phase = "Unjoined" THEN R(Shut(k), NoSend)
    ELSE LET k1 == IF k.phase \in {"Joining", "Syncing"}
                   THEN DropPartitions([k EXCEPT !.inflight =
                                            IF @ \in {"Join", "Sync"} THEN "none" ELSE @])
                   ELSE k
         IN Drive([k1 EXCEPT !.phase = "Leaving"])
OnRequestTimeout(k) ==
    IF k.inflight = "none" THEN R(k, NoSend)
    ELSE LET k1 == [k EXCEPT !.inflight = "none", !.coord = None]
             k2 == IF k.inflight = "Join" THEN [k1 EXCEPT !.phase = "Unjoined"]
                   ELSE IF k.inflight = "Sync" THEN RequestRejoin(k1)
                   ELSE IF k.inflight = "Leave" THEN Shut(k1)
                   ELSE k1
         IN Drive(k2)
\* abandon_request: the request timed out while still in the network; the connection is closed
\* (renewed), so its answer is never read, and the client carries on as after any time-out.
AbandonC(k) == IF k.inflight = "none" THEN R(k, NoSend) ELSE OnRequestTimeout([k EXCEPT !.conn = @ + 1])

OnJoin(k, resp) ==
    LET k0 == [k EXCEPT !.phase = "Unjoined"] IN
    IF resp.err = "NONE"
    THEN IF resp.mid = None THEN R(k0, NoSend)
         ELSE LET me == resp.mid
                  k1 == [k0 EXCEPT !.mid = me, !.gen = resp.gen, !.phase = "Syncing"]
                  assigns == IF resp.leader = me THEN RangeAssign(resp.members) ELSE EmptyFn
              IN CSend(k1, "Sync", SyncReq(me, resp.gen, assigns))
    ELSE IF resp.err = "MEMBER_ID_REQUIRED" THEN R([k0 EXCEPT !.mid = resp.mid], NoSend)
    ELSE IF resp.err = "UNKNOWN_MEMBER_ID" THEN R([k0 EXCEPT !.mid = None, !.gen = None], NoSend)
    ELSE R(k0, NoSend)
OnSync(k, resp) ==
    IF resp.err = "NONE"
    THEN Drive([k EXCEPT !.unfetched = resp.assign \ k.owned, !.owned = k.owned \cup resp.assign,
                         !.phase = "Stable"])
    ELSE R(IF resp.err = "UNKNOWN_MEMBER_ID" THEN ResetGeneration(k, TRUE)
           ELSE IF resp.err = "ILLEGAL_GENERATION" THEN ResetGeneration(k, FALSE)
           ELSE RequestRejoin(k), NoSend)
OnHeartbeat(k, err) ==
    IF err = "REBALANCE_IN_PROGRESS" THEN RequestRejoin(k)
    ELSE IF err = "UNKNOWN_MEMBER_ID" THEN ResetGeneration(k, TRUE)
    ELSE IF err = "ILLEGAL_GENERATION" THEN ResetGeneration(k, FALSE)
    ELSE k
OnCommit(k, err, offs) ==
    IF err = "NONE"
    THEN [k EXCEPT !.committed = [q \in Parts |->
              IF q \in DOMAIN offs /\ q \in k.owned THEN Max(k.committed[q], offs[q]) ELSE k.committed[q]]]
    ELSE IF err \in {"NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS"} THEN k
    ELSE IF err \in {"UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION"} /\ k.phase = "Leaving" THEN Shut(k)
    ELSE IF err = "UNKNOWN_MEMBER_ID" THEN ResetGeneration(k, TRUE)
    ELSE IF err = "ILLEGAL_GENERATION" THEN ResetGeneration(k, FALSE)
    ELSE IF err = "REBALANCE_IN_PROGRESS" /\ k.phase = "Stable" THEN RequestRejoin(k)
    ELSE DropPartitions(k)
OnFetch(k, err, offs) ==
    IF err # "NONE" THEN k
    ELSE LET ps == {q \in DOMAIN offs : q \in k.unfetched}
             start(q) == IF offs[q] = None THEN 0 ELSE offs[q]   \* auto.offset.reset=earliest
         IN [k EXCEPT !.pos = [q \in Parts |-> IF q \in ps THEN start(q) ELSE k.pos[q]],
                      !.committed = [q \in Parts |-> IF q \in ps THEN start(q) ELSE k.committed[q]],
                      !.unfetched = k.unfetched \ ps]

Expected(type) ==
    CASE type = "JoinGroupResp" -> "Join"   [] type = "SyncGroupResp" -> "Sync"
      [] type = "HeartbeatResp" -> "Heartbeat" [] type = "OffsetCommitResp" -> "Commit"
      [] type = "OffsetFetchResp" -> "Fetch" [] type = "LeaveGroupResp" -> "Leave"
\* on_response: an answer the consumer is not waiting for is ignored; when the handler sends
\* nothing, the poll loop runs (`.or_else(|| self.drive())`).
OnResponse(k, resp) ==
    IF k.inflight # Expected(resp.type) THEN R(k, NoSend)
    ELSE LET k1 == [k EXCEPT !.inflight = "none",
                             !.coord = IF resp.err \in {"NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE"}
                                       THEN None ELSE @]
             r == CASE resp.type = "JoinGroupResp" -> OnJoin(k1, resp)
                    [] resp.type = "SyncGroupResp" -> OnSync(k1, resp)
                    [] resp.type = "HeartbeatResp" -> R(OnHeartbeat(k1, resp.err), NoSend)
                    [] resp.type = "OffsetCommitResp" -> R(OnCommit(k1, resp.err, resp.offsets), NoSend)
                    [] resp.type = "OffsetFetchResp" -> R(OnFetch(k1, resp.err, resp.offsets), NoSend)
                    [] resp.type = "LeaveGroupResp" -> R(Shut(k1), NoSend)
         IN IF r.send = NoSend THEN Drive(r.k) ELSE r

-----------------------------------------------------------------------------
(* model/mod.rs: the world and its steps *)

BrokerA(b) == [broker |-> b]
ClientA(a) == [client |-> a]
ControllerA == [controller |-> 0]
Env(src, dst, msg) == [src |-> src, dst |-> dst, msg |-> msg]
IsClientEnv(e) == "client" \in DOMAIN e.src \/ "client" \in DOMAIN e.dst
EnvClient(e) == IF "client" \in DOMAIN e.src THEN e.src.client ELSE e.dst.client

Leader(W) == W.brokers[W.log.leader]
IsLive(W, c) == c \in W.started /\ W.consumers[c].phase # "Closed"
AddrOf(W, c) == [c |-> c, inc |-> W.consumers[c].inc, conn |-> W.consumers[c].conn]
\* The consumer process behind a connection, if that process is still the one running and the
\* connection still open.
ConsumerAt(W, a) ==
    IF a.c \in CIds /\ W.consumers[a.c].inc = a.inc /\ W.consumers[a.c].conn = a.conn
       /\ a.c \in W.started THEN a.c ELSE None
\* is_abandoned: a connection its (still running) process closed after giving up on a request.
IsAbandoned(W, a) ==
    a.c \in CIds /\ a.c \in W.started /\ W.consumers[a.c].inc = a.inc /\ W.consumers[a.c].conn # a.conn

\* Whether a live consumer still uses this member id (else the member is an orphan).
HeldByLive(W, id) ==
    \/ \E c \in CIds : IsLive(W, c) /\ W.consumers[c].mid = id
    \/ \E e \in DOMAIN W.network :
          /\ "client" \in DOMAIN e.dst
          /\ e.msg.type = "JoinGroupResp"
          /\ e.msg.mid = id
          /\ LET c == ConsumerAt(W, e.dst.client) IN c # None /\ IsLive(W, c)

RebalanceTimeoutRemovesLive(W) ==
    \E id \in DOMAIN Leader(W).group.members :
        Leader(W).group.members[id].aj = NoAddr /\ HeldByLive(W, id)

ProtocolIdle(W) ==
    DOMAIN W.network = {} /\ W.log.uncommitted = <<>> /\ \A b \in BIds : W.brokers[b].load # "Loading"

Total(u) == u.crashes + u.expiries + u.failovers + u.lost + u.leaves + u.late
BudgetLeft(W, usedK, allowed) == usedK < allowed /\ Total(W.used) < MaxTotal

\* load_ahead: some coordinator may still load the log (one is loading, or a failover is left).
LoadAhead(W) == (\E b \in BIds : W.brokers[b].load = "Loading") \/ BudgetLeft(W, W.used.failovers, MaxFailovers)

\* The replication backlog bound (MAX_UNREPLICATED): while that many batches wait for the high
\* watermark, requests to the leader's broker are not delivered.
MaxUnreplicated == 3
Held(W, e) == Len(W.log.uncommitted) >= MaxUnreplicated /\ e.msg.type \in RequestTypes
              /\ e.dst = BrokerA(W.log.leader)

\* awaits_in_vain: consumer c waits for an answer that can never come (its request is neither in
\* the network nor parked at any broker, and no answer is on its way).
AwaitsInVain(W, c) ==
    LET a == ClientA(AddrOf(W, c)) IN
    /\ IsLive(W, c)
    /\ W.consumers[c].inflight # "none"
    /\ ~\E e \in DOMAIN W.network : e.src = a \/ e.dst = a
    /\ ~\E b \in BIds : ParksRequestOf(W.brokers[b], AddrOf(W, c))
\* Abandon is enabled: a request of c is still in the network.
CanAbandon(W, c) ==
    /\ W.consumers[c].inflight # "none"
    /\ BudgetLeft(W, W.used.late, MaxLate)
    /\ \E e \in DOMAIN W.network : e.src = ClientA(AddrOf(W, c)) /\ e.msg.type \in RequestTypes

\* A consumer's request goes on the network; a consumer's new state is installed.
SendW(W, c, s) ==
    IF s = NoSend THEN W
    ELSE [W EXCEPT !.network = BagAdd(@, Env(ClientA(AddrOf(W, c)), BrokerA(s.to), s.req))]
ApplyC(W, c, r) == SendW([W EXCEPT !.consumers[c] = r.k], c, r.send)

\* FindCoordinator, answered from cluster metadata at once.
RECURSIVE FindCoordsFrom(_, _)
FindCoordsFrom(W, c) ==
    IF c >= NConsumers THEN W
    ELSE FindCoordsFrom(IF IsLive(W, c) /\ W.consumers[c].coord = None
                        THEN ApplyC(W, c, OnCoordinatorFound(W.consumers[c], W.log.leader))
                        ELSE W, c + 1)
FindCoordinators(W) == FindCoordsFrom(W, 0)

\* judge.rs: what a success response may reveal, judged as it is sent.
Observe(W, cond, name) == IF cond THEN [W EXCEPT !.observed = @ \cup {name}] ELSE W
JudgeReply(W, resp, judgeFetch) ==
    IF resp.type = "SyncGroupResp" /\ resp.err = "NONE"
    THEN Observe(W, ~AssignmentIsDurable(W.log, resp.mid, resp.gen, resp.assign), "UndurableAck")
    ELSE IF resp.type = "OffsetCommitResp" /\ resp.err = "NONE"
    THEN LET offs == resp.offsets
             W1 == Observe(W, \E q \in DOMAIN offs : AckIsUndurable(W.log, q, offs[q]), "UndurableAck")
         IN [W1 EXCEPT !.acked = [q \in Parts |->
                 IF q \in DOMAIN offs THEN Max(W.acked[q], offs[q]) ELSE W.acked[q]]]
    ELSE IF resp.type = "OffsetFetchResp" /\ resp.err = "NONE" /\ judgeFetch
    THEN LET offs == resp.offsets
             served(q) == IF offs[q] = None THEN 0 ELSE offs[q]
             W1 == Observe(W, \E q \in DOMAIN offs : served(q) < W.acked[q], "FetchBelowAck")
         IN Observe(W1, \E q \in DOMAIN offs : FetchIsUndurable(W.log, q, offs[q]), "UndurableAck")
    ELSE W

\* emit: a coordinator's replies are judged, then sent unless their connection died with its
\* process (an answer to a connection its running process abandoned is sent, and never read).
\* (A deposed coordinator's OffsetFetch answers are not judged.)
RECURSIVE EmitSeq(_, _, _, _)
EmitSeq(W, b, rs, current) ==
    IF rs = <<>> THEN W
    ELSE LET r == Head(rs)
             W1 == JudgeReply(W, r.resp, current)
             W2 == IF ConsumerAt(W1, r.to) = None /\ ~IsAbandoned(W1, r.to) THEN W1
                   ELSE [W1 EXCEPT !.network = BagAdd(@, Env(BrokerA(b), ClientA(r.to), r.resp))]
         IN EmitSeq(W2, b, Tail(rs), current)
Emit(W, b, rs) == EmitSeq(W, b, rs, W.brokers[b].epoch = W.log.epoch)

Ctx(W, b) == [co |-> W.brokers[b], log |-> W.log, rep |-> <<>>]
Install(W, b, S) == [W EXCEPT !.brokers[b] = S.co, !.log = S.log]

\* no_zombie_commit at the moment a coordinator accepts a commit.
JudgeAppended(W, b, before) ==
    LET g == W.brokers[b].group
        un == W.log.uncommitted
        recs == UNION {{un[i][j] : j \in 1 .. Len(un[i])} : i \in (before + 1) .. Len(un)}
    IN Observe(W, \E r \in recs : r.rk = "Offset" /\
                      ~(r.byGen = g.gen /\ r.byMid \in DOMAIN g.members
                        /\ r.p \in g.members[r.byMid].assign), "ZombieCommit")

DeliverW(W, e) ==
    IF "broker" \in DOMAIN e.dst /\ e.msg.type \in RequestTypes
    THEN IF "client" \notin DOMAIN e.src THEN W
         ELSE LET b == e.dst.broker
                  S == Handle(Ctx(W, b), e.src.client, e.msg)
              IN Emit(JudgeAppended(Install(W, b, S), b, Len(W.log.uncommitted)), b, S.rep)
    ELSE IF "broker" \in DOMAIN e.dst
    THEN LET b == e.dst.broker
             co == W.brokers[b]
             r == IF e.msg.type = "StopLeading" /\ co.epoch < e.msg.epoch THEN StopLeading(co)
                  ELSE [co |-> co, rep |-> <<>>]
         IN Emit([W EXCEPT !.brokers[b] = r.co], b, r.rep)
    ELSE LET c == ConsumerAt(W, e.dst.client)
         IN IF c = None THEN W ELSE ApplyC(W, c, OnResponse(W.consumers[c], e.msg))

\* The high watermark passes the oldest batch; each commit in it is judged against the
\* group metadata durable before it.
ReplicateW(W) ==
    LET batch == Head(W.log.uncommitted)
        zombie == \E i \in 1 .. Len(batch) :
                     batch[i].rk = "Offset" /\ ~CommitIsLegit(W.log, batch[i].p, batch[i].byMid, batch[i].byGen)
        lg == ReplicateOne(W.log)
        W1 == Observe(Observe([W EXCEPT !.log = lg], zombie, "ZombieCommit"),
                      DurableGeneration(lg) < DurableGeneration(W.log), "GenerationRegressed")
        b == lg.leader
    IN IF W1.brokers[b].epoch = lg.epoch
       THEN LET r == OnBatchDurable(W1.brokers[b]) IN Emit([W1 EXCEPT !.brokers[b] = r.co], b, r.rep)
       ELSE W1

\* GroupModel::step, before find_coordinators. An action is a record [k |-> kind, ...].
Step0(W, a) ==
    CASE a.k = "Deliver" -> DeliverW([W EXCEPT !.network = BagRemove(@, a.env)], a.env)
      [] a.k = "Lose" ->
            LET W1 == [W EXCEPT !.network = BagRemove(@, a.env), !.used.lost = @ + 1]
                c == ConsumerAt(W1, EnvClient(a.env))
            IN IF c = None THEN W1 ELSE ApplyC(W1, c, OnRequestTimeout(W1.consumers[c]))
      [] a.k = "TimeOut" -> ApplyC(W, a.c, OnRequestTimeout(W.consumers[a.c]))
      [] a.k = "Abandon" -> ApplyC([W EXCEPT !.used.late = @ + 1], a.c, AbandonC(W.consumers[a.c]))
      [] a.k = "Replicate" -> ReplicateW(W)
      [] a.k = "Compact" -> [W EXCEPT !.log = Compact(@)]
      [] a.k = "FinishLoading" -> [W EXCEPT !.brokers[a.b] = FinishLoadingCo(@, W.log.durable)]
      [] a.k = "Consume" -> ApplyC(W, a.c, CommitC(Process(W.consumers[a.c], a.p)))
      [] a.k = "Commit" -> ApplyC(W, a.c, CommitC(W.consumers[a.c]))
      [] a.k = "Heartbeat" -> ApplyC(W, a.c, HeartbeatC(W.consumers[a.c]))
      [] a.k = "ExpireSession" ->
            LET W1 == IF HeldByLive(W, a.id) THEN [W EXCEPT !.used.expiries = @ + 1] ELSE W
                b == W1.log.leader
                S == ExpireSessionH(Ctx(W1, b), a.id)
            IN Emit(Install(W1, b, S), b, S.rep)
      [] a.k = "RebalanceTimeout" ->
            LET W1 == IF RebalanceTimeoutRemovesLive(W) THEN [W EXCEPT !.used.expiries = @ + 1] ELSE W
                b == W1.log.leader
                S == RebalanceTimeoutH(Ctx(W1, b))
            IN Emit(Install(W1, b, S), b, S.rep)
      [] a.k = "Crash" ->
            \* the process's connections die with it: answers to it are never read
            LET old == AddrOf(W, a.c)
                dies(x) == "client" \in DOMAIN x.dst /\ x.dst.client.c = old.c /\ x.dst.client.inc = old.inc
            IN [W EXCEPT !.used.crashes = @ + 1,
                         !.network = [e \in {x \in DOMAIN W.network : ~dies(x)} |-> W.network[e]],
                         !.consumers[a.c] = NewConsumer(W.consumers[a.c].inc + 1)]
      [] a.k = "Close" -> ApplyC([W EXCEPT !.used.leaves = @ + 1], a.c, CloseC(W.consumers[a.c]))
      [] a.k = "Start" -> [W EXCEPT !.used.lateJoins = @ + 1, !.started = @ \cup {a.c}]
      [] a.k = "Failover" ->
            \* the new leader starts loading at once; the old one learns of its demotion only
            \* when the controller's message arrives
            LET from == W.log.leader
                lg == Elect(W.log, a.b)
                r == StartLoading(W.brokers[a.b], lg.epoch)
                W1 == Emit([W EXCEPT !.used.failovers = @ + 1, !.log = lg, !.brokers[a.b] = r.co], a.b, r.rep)
            IN [W1 EXCEPT !.network = BagAdd(@, Env(ControllerA, BrokerA(from), StopLeadingMsg(lg.epoch)))]

\* After every step: find_coordinators, then, when no load is ahead, the log is kept compacted
\* (nothing but a loader tells an uncompacted log from a compacted one).
Step(W, a) ==
    LET W1 == FindCoordinators(Step0(W, a))
    IN IF LoadAhead(W1) THEN W1 ELSE [W1 EXCEPT !.log = Compact(@)]

\* Only heartbeats whose answer would not be NONE are explored.
HeartbeatInformative(W, c) ==
    LET k == W.consumers[c] IN
    /\ k.phase = "Stable" /\ k.inflight = "none"
    /\ k.coord # None /\ k.mid # None /\ k.gen # None
    /\ HeartbeatError(W.brokers[k.coord], k.mid, k.gen) # "NONE"

Expirable(W) == LET g == Leader(W).group IN g.pend \o SortSet(DOMAIN g.members)
ExpiryEnabled(W, id) ==
    /\ CanExpire(Leader(W), id)
    /\ IF HeldByLive(W, id) THEN BudgetLeft(W, W.used.expiries, MaxExpiries)  \* a fault
       ELSE ProtocolIdle(W)                                                   \* an orphan
\* The cleaner is explored while the current coordinator loads, and only when it changes the log.
CompactEnabled(W) == Leader(W).load = "Loading" /\ Compactable(W.log)
FinishLoadingEnabled(W, b) == W.brokers[b].load = "Loading" /\ W.brokers[b].epoch = W.log.epoch
ConsumeEnabled(W, c, p) ==
    LET k == W.consumers[c] IN
    /\ k.phase = "Stable" /\ k.inflight = "none" /\ p \in Processable(k) /\ k.pos[p] < MaxOffset
CommitEnabled(W, c) ==
    LET k == W.consumers[c] IN k.phase = "Stable" /\ k.inflight = "none" /\ HasUncommitted(k)

-----------------------------------------------------------------------------
(* The initial state *)

InitWorld0 ==
    FindCoordinators(
        [brokers |-> [b \in BIds |-> IF b = 0 THEN ActiveCo(0, 0) ELSE Idle(b)],
         log |-> NewLog(0),
         consumers |-> [c \in CIds |-> NewConsumer(0)],
         started |-> 0 .. (NConsumers - LateJoins - 1),
         network |-> EmptyFn,
         used |-> [crashes |-> 0, expiries |-> 0, failovers |-> 0, lost |-> 0, leaves |-> 0,
                   lateJoins |-> 0, late |-> 0],
         acked |-> [p \in Parts |-> 0],
         observed |-> {}])

(* GroupModel::settle: from the empty start, take the *first* enabled step that is neither a
   fault nor application work (Consume, Commit), in the order GroupModel::actions lists them,
   until none is left.  The first listed step is the delivery of the smallest envelope in
   Rust's derived order (src, dst, then message variant), so we need that order here; it is
   compared down to the message variant only, and CHOOSE fails loudly if two envelopes in
   flight ever tie on that key (they do not, during settle). *)
AddrKey(a) == IF "controller" \in DOMAIN a THEN <<0, 0, 0, 0>>
              ELSE IF "broker" \in DOMAIN a THEN <<1, a.broker, 0, 0>>
              ELSE <<2, a.client.c, a.client.inc, a.client.conn>>
MsgOrder == <<"FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup",
              "OffsetCommit", "OffsetFetch",
              "FindCoordinatorResp", "JoinGroupResp", "SyncGroupResp", "HeartbeatResp",
              "LeaveGroupResp", "OffsetCommitResp", "OffsetFetchResp",
              "StartLeading", "StopLeading">>
MsgRank(t) == CHOOSE i \in 1 .. Len(MsgOrder) : MsgOrder[i] = t
EnvKey(e) == AddrKey(e.src) \o AddrKey(e.dst) \o <<MsgRank(e.msg.type)>>
LexLess(s, t) == \E i \in 1 .. Len(s) : s[i] < t[i] /\ \A j \in 1 .. (i - 1) : s[j] = t[j]
SmallestEnv(E) == CHOOSE e \in E : \A f \in E \ {e} : LexLess(EnvKey(e), EnvKey(f))

FirstProtocolStep(W) ==
    LET deliverable == {e \in DOMAIN W.network : ~Held(W, e)} IN
    IF deliverable # {} THEN [k |-> "Deliver", env |-> SmallestEnv(deliverable)]
    ELSE IF W.log.uncommitted # <<>> THEN [k |-> "Replicate"]
    ELSE IF CompactEnabled(W) THEN [k |-> "Compact"]
    ELSE IF \E b \in BIds : FinishLoadingEnabled(W, b)
    THEN [k |-> "FinishLoading", b |-> MinOf({b \in BIds : FinishLoadingEnabled(W, b)})]
    ELSE LET orphans == SelectSeq(Expirable(W), LAMBDA id : ExpiryEnabled(W, id) /\ ~HeldByLive(W, id))
             \* per consumer, in order: Heartbeat, then TimeOut
             cs == {c \in CIds : IsLive(W, c) /\ (HeartbeatInformative(W, c) \/ AwaitsInVain(W, c))}
         IN IF orphans # <<>> THEN [k |-> "ExpireSession", id |-> Head(orphans)]
            ELSE IF cs # {}
            THEN IF HeartbeatInformative(W, MinOf(cs)) THEN [k |-> "Heartbeat", c |-> MinOf(cs)]
                 ELSE [k |-> "TimeOut", c |-> MinOf(cs)]
            ELSE [k |-> "Settled"]

RECURSIVE Settle(_)
Settle(W) == LET a == FirstProtocolStep(W) IN IF a.k = "Settled" THEN W ELSE Settle(Step(W, a))

InitWorld == IF StartStable THEN Settle(InitWorld0) ELSE InitWorld0

Init ==
    LET W == InitWorld IN
    /\ brokers = W.brokers /\ log = W.log /\ consumers = W.consumers /\ started = W.started
    /\ network = W.network /\ used = W.used /\ acked = W.acked /\ observed = W.observed

-----------------------------------------------------------------------------
(* The next-state relation: GroupModel::actions, each enabled action taken by Step. *)

Take(W, a) ==
    LET W2 == Step(W, a) IN
    /\ brokers' = W2.brokers /\ log' = W2.log /\ consumers' = W2.consumers
    /\ started' = W2.started /\ network' = W2.network /\ used' = W2.used
    /\ acked' = W2.acked /\ observed' = W2.observed

(* When(W, guard, a): take action a if its guard holds.  The guard sits in an IF so that TLC
   evaluates it as a value: written as a conjunct of the action, every \E witness and every
   true disjunct inside it (e.g. the two ways HeldByLive can hold) would make TLC generate
   the same successor once more.  That would not change the distinct states, only inflate
   "states generated"; with When, each TLC transition is exactly one element of the action
   list GroupModel::actions builds, and both tools report the same number of generated
   states too. *)
When(W, guard, a) == IF guard THEN Take(W, a) ELSE FALSE

Next ==
    LET W == World IN
    \/ \E e \in DOMAIN network : When(W, ~Held(W, e), [k |-> "Deliver", env |-> e])
    \/ \E e \in DOMAIN network :
          When(W, IsClientEnv(e) /\ BudgetLeft(W, used.lost, MaxLost), [k |-> "Lose", env |-> e])
    \/ When(W, log.uncommitted # <<>>, [k |-> "Replicate"])
    \/ When(W, CompactEnabled(W), [k |-> "Compact"])
    \/ \E b \in BIds : When(W, FinishLoadingEnabled(W, b), [k |-> "FinishLoading", b |-> b])
    \/ \E id \in {Expirable(W)[i] : i \in 1 .. Len(Expirable(W))} :
          When(W, ExpiryEnabled(W, id), [k |-> "ExpireSession", id |-> id])
    \/ When(W, /\ CanTimeOutJoin(Leader(W)) /\ RebalanceTimeoutRemovesLive(W)
                /\ BudgetLeft(W, used.expiries, MaxExpiries),
            [k |-> "RebalanceTimeout"])
    \/ \E c \in CIds \ started : Take(W, [k |-> "Start", c |-> c])
    \/ \E c \in {x \in CIds : IsLive(W, x)} :
          \/ \E p \in Parts : When(W, ConsumeEnabled(W, c, p), [k |-> "Consume", c |-> c, p |-> p])
          \/ When(W, CommitEnabled(W, c), [k |-> "Commit", c |-> c])
          \/ When(W, HeartbeatInformative(W, c), [k |-> "Heartbeat", c |-> c])
          \/ When(W, AwaitsInVain(W, c), [k |-> "TimeOut", c |-> c])
          \/ When(W, CanAbandon(W, c), [k |-> "Abandon", c |-> c])
          \/ When(W, BudgetLeft(W, used.crashes, MaxCrashes), [k |-> "Crash", c |-> c])
          \/ When(W, consumers[c].phase = "Stable" /\ BudgetLeft(W, used.leaves, MaxLeaves),
                  [k |-> "Close", c |-> c])
    \/ \E b \in BIds \ {log.leader} :
          When(W, BudgetLeft(W, used.failovers, MaxFailovers), [k |-> "Failover", b |-> b])

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(* model/canonical.rs: states compared up to the numbering of generations and member ids.

   Nothing in the protocol depends on the value of a generation, only on equality and "one
   more", nor on a member id beyond equality and order.  groupcheck fingerprints a state by its
   canonical form: generations shifted so that the smallest one in use (by an active
   coordinator, the log, a consumer or a message) is 0; the member ids of each leader epoch
   renumbered 0, 1, 2, ... in their order; an active coordinator's next member sequence set to
   the number of ids of its epoch in use; who committed a durable offset forgotten.  View is the
   same function; the configurations name it as TLC's VIEW, so TLC too keeps one state (the
   first seen) of each class. *)

OptSet(x) == IF x = None THEN {} ELSE {x}

\* The generations and member ids a message, a record, a coordinator holds.
MsgGens(m) ==
    IF m.type \in {"SyncGroup", "Heartbeat", "OffsetCommit", "SyncGroupResp"} THEN {m.gen}
    ELSE IF m.type = "JoinGroupResp" /\ m.err = "NONE" THEN {m.gen}  \* an error's is a placeholder
    ELSE {}
MsgIds(m) ==
    CASE m.type = "JoinGroup" -> OptSet(m.mid)
      [] m.type = "SyncGroup" -> {m.mid} \cup DOMAIN m.assigns
      [] m.type \in {"Heartbeat", "OffsetCommit", "LeaveGroup", "SyncGroupResp"} -> {m.mid}
      [] m.type = "JoinGroupResp" -> OptSet(m.mid) \cup OptSet(m.leader) \cup m.members
      [] OTHER -> {}
\* withBy: whether an offset record's committer counts (it does not for durable records in the
\* view, which forgets it; it does for the generation span, as in Rust).
RecGens(r, withBy) == IF r.rk = "Group" THEN {r.gen} ELSE IF withBy THEN {r.byGen} ELSE {}
RecIds(r, withBy) ==
    IF r.rk = "Group" THEN OptSet(r.leader) \cup DOMAIN r.members ELSE IF withBy THEN {r.byMid} ELSE {}
AssignWrites(co) == {co.pending[i] : i \in {j \in 1 .. Len(co.pending) : co.pending[j].kind = "Assignment"}}
CoGens(co) == IF co.load # "Active" THEN {} ELSE {co.group.gen} \cup {w.gen : w \in AssignWrites(co)}
CoIds(co) ==
    IF co.load # "Active" THEN {}
    ELSE OptSet(co.group.leader) \cup DOMAIN co.group.members \cup {co.group.pend[i] : i \in 1 .. Len(co.group.pend)}
         \cup UNION {DOMAIN w.assigns : w \in AssignWrites(co)}
Unc(W) == UNION {{W.log.uncommitted[i][j] : j \in 1 .. Len(W.log.uncommitted[i])} : i \in 1 .. Len(W.log.uncommitted)}
Dur(W) == {W.log.durable[i] : i \in 1 .. Len(W.log.durable)}

GensInUse(W, durableBy) ==
    UNION {CoGens(W.brokers[b]) : b \in BIds}
    \cup UNION {RecGens(r, durableBy) : r \in Dur(W)} \cup UNION {RecGens(r, TRUE) : r \in Unc(W)}
    \cup UNION {OptSet(W.consumers[c].gen) : c \in CIds}
    \cup UNION {MsgGens(e.msg) : e \in DOMAIN W.network}
IdsInUse(W) ==
    UNION {CoIds(W.brokers[b]) : b \in BIds}
    \cup UNION {RecIds(r, FALSE) : r \in Dur(W)} \cup UNION {RecIds(r, TRUE) : r \in Unc(W)}
    \cup UNION {OptSet(W.consumers[c].mid) : c \in CIds}
    \cup UNION {MsgIds(e.msg) : e \in DOMAIN W.network}

\* within_boundary: generations in use are at most MaxGenerationSpan apart (a CONSTRAINT).
MaxGenerationSpan == 4
GenerationSpan(W) == LET gs == GensInUse(W, TRUE) IN IF gs = {} THEN 0 ELSE MaxOf(gs) - MinOf(gs)
WithinBoundary == GenerationSpan(World) <= MaxGenerationSpan

\* The canonical form.  Maps keyed by member id (a function in the state) become sets of
\* pairs here: the renaming is injective, so this stays a one-to-one image of Rust's form.
Canonical(W) ==
    LET gs == GensInUse(W, FALSE)
        shift == IF gs = {} THEN 0 ELSE MinOf(gs)
        Ids == IdsInUse(W)
        RG(g) == g - shift
        RI(id) == IF id = None THEN None
                  ELSE (id \div 100) * 100 + Cardinality({x \in Ids : x \div 100 = id \div 100 /\ x < id})
        RF(f) == {<<RI(id), f[id]>> : id \in DOMAIN f}
        VMsg(m) ==
            CASE m.type = "JoinGroup" -> [m EXCEPT !.mid = RI(@)]
              [] m.type = "SyncGroup" -> [m EXCEPT !.mid = RI(@), !.gen = RG(@), !.assigns = RF(@)]
              [] m.type \in {"Heartbeat", "OffsetCommit", "SyncGroupResp"} -> [m EXCEPT !.mid = RI(@), !.gen = RG(@)]
              [] m.type = "LeaveGroup" -> [m EXCEPT !.mid = RI(@)]
              [] m.type = "JoinGroupResp" ->
                    [m EXCEPT !.gen = IF m.err = "NONE" THEN RG(@) ELSE @, !.mid = RI(@),
                              !.leader = RI(@), !.members = {RI(x) : x \in @}]
              [] OTHER -> m
        VRec(r, durable) ==
            IF r.rk = "Group" THEN [r EXCEPT !.gen = RG(@), !.leader = RI(@), !.members = RF(@)]
            ELSE IF durable THEN [r EXCEPT !.byMid = None, !.byGen = None]
            ELSE [r EXCEPT !.byMid = RI(@), !.byGen = RG(@)]
        VW(w) == IF w.kind = "Assignment" THEN [w EXCEPT !.gen = RG(@), !.assigns = RF(@)] ELSE w
        VCo(co) ==
            IF co.load # "Active" THEN co
            ELSE [co EXCEPT
                    !.group.gen = RG(@), !.group.leader = RI(@), !.group.members = RF(@),
                    !.group.pend = [i \in DOMAIN co.group.pend |-> RI(co.group.pend[i])],
                    !.pending = [i \in DOMAIN co.pending |-> VW(co.pending[i])],
                    !.nextSeq = Cardinality({x \in Ids : x \div 100 = co.epoch})]
        un == W.log.uncommitted
    IN <<[b \in BIds |-> VCo(W.brokers[b])],
         [W.log EXCEPT !.durable = [i \in DOMAIN W.log.durable |-> VRec(W.log.durable[i], TRUE)],
                       !.uncommitted = [i \in DOMAIN un |-> [j \in DOMAIN un[i] |-> VRec(un[i][j], FALSE)]]],
         [c \in CIds |-> [W.consumers[c] EXCEPT !.mid = RI(@), !.gen = IF @ = None THEN None ELSE RG(@)]],
         W.started,
         {<<[e EXCEPT !.msg = VMsg(@)], W.network[e]>> : e \in DOMAIN W.network},
         W.used, W.acked, W.observed>>

(* TLC 2.15 keeps a function built by [x \in S |-> e] unevaluated until it is first compared or
   fingerprinted.  Under a VIEW the state itself is never fingerprinted, and writing a state
   that still holds such a function to TLC's disk queue fails (a NullPointerException in
   FcnLambdaValue.write).  Comparing the world with itself evaluates every function in it. *)
View == LET W == World IN IF W = W THEN Canonical(W) ELSE Assert(FALSE, "unreachable")

-----------------------------------------------------------------------------
(* model/properties.rs: the safety properties (Always), as invariants *)

\* The group as the serving coordinator knows it, or as the durable log has it.
CurrentGroup(W) ==
    LET l == Leader(W) IN
    IF l.load = "Active" /\ l.epoch = W.log.epoch
    THEN [gen |-> l.group.gen, members |-> DOMAIN l.group.members]
    ELSE IF HasDurableGroup(W.log)
    THEN [gen |-> DurableGroup(W.log).gen, members |-> DOMAIN DurableGroup(W.log).members]
    ELSE [gen |-> 0, members |-> {}]
CurrentMember(W, id, gen) ==
    id # None /\ gen # None /\ gen = CurrentGroup(W).gen /\ id \in CurrentGroup(W).members
Disjoint(F) == \A x, y \in DOMAIN F : x # y => F[x] \cap F[y] = {}

\* No partition is owned by two live consumers that are both members of the current generation.
SingleOwner ==
    LET W == World
        owners == {c \in CIds : IsLive(W, c) /\ CurrentMember(W, consumers[c].mid, consumers[c].gen)}
    IN Disjoint([c \in owners |-> consumers[c].owned])

\* Every assignment held or written gives each partition to at most one member; a Stable group
\* with members gives every partition to exactly one.
AssignmentIsFunction ==
    /\ \A b \in BIds : brokers[b].load = "Active" =>
          LET g == brokers[b].group IN
          /\ Disjoint([id \in DOMAIN g.members |-> g.members[id].assign])
          /\ \/ g.state # "Stable" \/ DOMAIN g.members = {}
             \/ UNION {g.members[id].assign : id \in DOMAIN g.members} = Parts
    /\ LET written == {log.durable[i] : i \in 1 .. Len(log.durable)}
                      \cup UNION {{log.uncommitted[i][j] : j \in 1 .. Len(log.uncommitted[i])}
                                  : i \in 1 .. Len(log.uncommitted)}
       IN \A r \in written : r.rk = "Group" => Disjoint(r.members)

\* Every offset commit that became durable came from an owner in the current generation.
NoZombieCommit == "ZombieCommit" \notin observed

\* Every acknowledged commit stays durable, and no coordinator serves an offset below it.
NoLostCommit ==
    /\ "FetchBelowAck" \notin observed
    /\ \A p \in Parts : acked[p] > 0 => ~AckIsUndurable(log, p, acked[p])

\* No success response revealed an assignment or offset that was not durable.
DurableBeforeAck == "UndurableAck" \notin observed

\* Loading the durable log gives the same state as loading it after the cleaner has run, and a
\* serving coordinator at rest holds exactly the replay of the durable log.
ReplayEquivalence ==
    /\ ~Compactable(log) \/ Replay(EmptySnap, log.durable) = Replay(EmptySnap, Compacted(log.durable))
    /\ \A b \in BIds :
          LET co == brokers[b] IN
          (co.load = "Active" /\ co.epoch = log.epoch /\ co.pending = <<>>
           /\ co.group.state \in {"Stable", "Empty"})
          => LET s == Replay(EmptySnap, log.durable) IN
             /\ co.group.gen = s.gen /\ co.group.leader = s.leader
             /\ [id \in DOMAIN co.group.members |-> co.group.members[id].assign] = s.members
             /\ co.offsets = s.offsets

\* The durable generation never decreases, and the serving coordinator is never behind it.
GenerationMonotonic ==
    /\ "GenerationRegressed" \notin observed
    /\ LET l == Leader(World) IN
       ~(l.load = "Active" /\ l.epoch = log.epoch /\ l.group.gen < DurableGeneration(log))

\* Nothing but faults can happen: every enabled action is a fault.
Quiescent(W) ==
    /\ \A e \in DOMAIN W.network : Held(W, e)
    /\ W.log.uncommitted = <<>>
    /\ ~CompactEnabled(W)
    /\ ~\E b \in BIds : FinishLoadingEnabled(W, b)
    /\ ~\E i \in 1 .. Len(Expirable(W)) :
           ExpiryEnabled(W, Expirable(W)[i]) /\ ~HeldByLive(W, Expirable(W)[i])
    /\ ~\E c \in CIds :
           /\ IsLive(W, c)
           /\ \/ \E p \in Parts : ConsumeEnabled(W, c, p)
              \/ CommitEnabled(W, c)
              \/ HeartbeatInformative(W, c)
              \/ AwaitsInVain(W, c)

\* Stable at the serving coordinator, every live consumer a synced member owning exactly its
\* assignment, no other members, every partition owned by exactly one live consumer.
Converged(W) ==
    LET l == Leader(W)
        g == l.group
        live == {c \in CIds : IsLive(W, c)}
    IN /\ l.load = "Active" /\ l.epoch = W.log.epoch /\ l.pending = <<>> /\ g.pend = <<>>
       /\ IF live = {} THEN DOMAIN g.members = {}
          ELSE /\ g.state = "Stable"
               /\ Cardinality(DOMAIN g.members) = Cardinality(live)
               /\ \A c \in live :
                     LET k == W.consumers[c] IN
                     /\ k.phase = "Stable" /\ k.inflight = "none" /\ k.unfetched = {}
                     /\ k.gen = g.gen
                     /\ k.mid \in DOMAIN g.members /\ g.members[k.mid].assign = k.owned
               /\ Disjoint([c \in live |-> W.consumers[c].owned])
               /\ UNION {W.consumers[c].owned : c \in live} = Parts

Convergence == Quiescent(World) => Converged(World)

=============================================================================
