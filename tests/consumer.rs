//! The consumer state machine's own rules, beyond what the model exercises.

use groupcheck::assignor::Assignor;
use groupcheck::consumer::{Consumer, Phase};
use groupcheck::coordinator::CoreConfig;
use groupcheck::flaw::Flaws;
use groupcheck::protocol::{ClientAddr, MemberId, Partitions, Request};

const CFG: CoreConfig = CoreConfig {
    partitions: 2,
    assignor: Assignor::Range,
    flaws: Flaws::NONE,
};

/// A consumer in `phase` that owns everything and has processed three records of p0.
fn consumer_in(phase: Phase) -> Consumer {
    let mut c = Consumer::new(
        ClientAddr {
            consumer: 0,
            incarnation: 0,
            connection: 0,
        },
        &CFG,
    );
    c.phase = phase;
    c.coordinator = Some(0);
    c.member_id = Some(MemberId { epoch: 0, seq: 0 });
    c.generation = Some(1);
    c.owned = Partitions::all(2);
    c.positions[0] = 3;
    c
}

// The Java client commits only in a Stable generation: in any other phase the commit would be
// fenced (or would commit for a generation it is leaving).
#[test]
fn auto_commit_is_sent_only_in_a_stable_generation() {
    let send = consumer_in(Phase::Stable)
        .commit()
        .expect("a commit in Stable");
    assert!(matches!(send.request, Request::OffsetCommit { .. }));
    for phase in [
        Phase::Unjoined,
        Phase::Revoking,
        Phase::Joining,
        Phase::Syncing,
        Phase::Leaving,
        Phase::Closed,
    ] {
        assert!(consumer_in(phase).commit().is_none(), "{phase:?}");
    }
}

// One request in flight at a time: no commit while another request is outstanding.
#[test]
fn no_commit_while_a_request_is_in_flight() {
    let mut c = consumer_in(Phase::Stable);
    assert!(c.heartbeat().is_some());
    assert!(c.commit().is_none());
}
