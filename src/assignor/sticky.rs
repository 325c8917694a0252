//! The sticky assignors (Kafka's `AbstractStickyAssignor`, `StickyAssignor`,
//! `CooperativeStickyAssignor`), for one topic that every member subscribes to.
//!
//! 1. **Which claims count.** A member's JoinGroup says which partitions it owned and in which
//!    generation. A partition counts as owned by the member that claims it in the highest
//!    generation among its claims: a member that reports an older generation was out of the
//!    group meanwhile, and another may own the partition now (KAFKA-7026: both used to keep
//!    it). If two members claim it in that same generation, it counts for neither. A claim that
//!    nobody newer disputes counts, however old: its member may still own the partition
//!    (KAFKA-14639: dropping every claim older than the newest generation anyone reports let a
//!    member that missed a SyncGroup lose, on paper, a partition it still owned).
//! 2. **Balance, then stickiness.** Every member gets ⌊P/N⌋ or ⌈P/N⌉ partitions. Each keeps as
//!    many of its counted partitions as its share allows; the rest go, lowest partition first,
//!    to the members furthest below their share (ties: lowest member id).
//! 3. **Cooperative: revoke before reassigning.** A partition counted as owned by one member is
//!    never given to another in the same round: it is left out, its owner sees it missing from
//!    its new assignment, revokes it and rejoins, and the follow-up rebalance assigns it.

use super::Subscription;
use crate::flaw::{Flaw, Flaws};
use crate::protocol::{MemberId, Partitions};

/// The counted claims: for each subscription (in the order given), the partitions it owned
/// that count as its own.
pub fn counted_claims(subs: &[Subscription], partitions: u8, flaws: Flaws) -> Vec<Partitions> {
    let all = Partitions::all(partitions);
    if flaws.has(Flaw::StickyNoDedup) {
        // KAFKA-7026: every member keeps what it says it owned, whatever its generation and
        // whoever else claims the same partition.
        return subs.iter().map(|s| s.owned.intersection(all)).collect();
    }
    // No generation is Kafka's DEFAULT_GENERATION (-1): below every real one.
    let generation = |s: &Subscription| s.generation.map_or(-1, |g| i64::from(g.0));
    // KAFKA-14639: only the claims of the newest generation any member reports were heard.
    let newest_reported = subs.iter().map(generation).max();
    let heard = |s: &Subscription| {
        !flaws.has(Flaw::CooperativeTrustsStaleClaim) || Some(generation(s)) == newest_reported
    };
    let mut counted = vec![Partitions::EMPTY; subs.len()];
    for p in all.iter() {
        let claimants =
            || (0..subs.len()).filter(|i| heard(&subs[*i]) && subs[*i].owned.contains(p));
        let Some(newest) = claimants().map(|i| generation(&subs[i])).max() else {
            continue;
        };
        let mut newest_claimants = claimants().filter(|i| generation(&subs[*i]) == newest);
        if let (Some(owner), None) = (newest_claimants.next(), newest_claimants.next()) {
            counted[owner].insert(p);
        }
    }
    counted
}

/// The balanced sticky assignment of `partitions` to the members of `subs` (distinct, sorted
/// by member id).
pub fn assign(subs: &[Subscription], partitions: u8, flaws: Flaws) -> Vec<(MemberId, Partitions)> {
    let n = subs.len();
    if n == 0 {
        return Vec::new();
    }
    let claims = counted_claims(subs, partitions, flaws);
    let floor = usize::from(partitions) / n;
    // How many members may hold one more than `floor`.
    let mut extra = usize::from(partitions) % n;
    let mut given: Vec<Partitions> = vec![Partitions::EMPTY; n];
    for (i, claim) in claims.iter().enumerate() {
        let keep = if claim.len() > floor && extra > 0 {
            extra -= 1;
            floor + 1
        } else {
            floor
        };
        given[i] = claim.iter().take(keep).collect();
    }
    let taken = given.iter().fold(Partitions::EMPTY, |u, g| u.union(*g));
    // Every share kept is at most `floor + 1`, and only `extra` of them, so giving each
    // partition nobody keeps to the member holding fewest ends every share at `floor` or
    // `floor + 1` (the shares add up to every partition, unless overlapping claims, a flaw,
    // were kept).
    for p in Partitions::all(partitions).difference(taken).iter() {
        let to = lightest(&given);
        given[to].insert(p);
    }
    subs.iter().map(|s| s.member).zip(given).collect()
}

/// The member with the fewest partitions (ties: the first, that is the lowest member id).
fn lightest(given: &[Partitions]) -> usize {
    (0..given.len())
        .min_by_key(|i| given[*i].len())
        .expect("a group with members")
}

/// The cooperative round: the sticky assignment without the partitions it would move from one
/// member to another; those are revoked by their owner first and assigned in the next round.
pub fn assign_cooperatively(
    subs: &[Subscription],
    partitions: u8,
    flaws: Flaws,
) -> Vec<(MemberId, Partitions)> {
    let claims = counted_claims(subs, partitions, flaws);
    assign(subs, partitions, flaws)
        .into_iter()
        .enumerate()
        .map(|(i, (member, given))| {
            let owned_by_others = claims
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .fold(Partitions::EMPTY, |u, (_, c)| u.union(*c));
            (member, given.difference(owned_by_others))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignor::Assignor;
    use crate::protocol::{Generation, LeaderEpoch};

    fn sub(seq: u32, owned: &[u8], generation: Option<u32>) -> Subscription {
        Subscription {
            member: MemberId {
                epoch: LeaderEpoch(0),
                seq,
            },
            owned: owned.iter().copied().collect(),
            generation: generation.map(Generation),
        }
    }

    /// KAFKA-7026: a member kicked out in generation 1 rejoins claiming p0, which another
    /// member owns in generation 2. Only the newer claim counts, so p0 stays where it is.
    /// (KAFKA-14639: its claim to p1, which nobody newer makes, still counts.)
    #[test]
    fn a_claim_from_an_older_generation_does_not_count() {
        let subs = [sub(0, &[0], Some(1)), sub(1, &[0], Some(2))];
        assert_eq!(
            counted_claims(&subs, 2, Flaws::NONE),
            vec![Partitions::EMPTY, [0].into_iter().collect()]
        );
        let late = [sub(0, &[0, 1], Some(1)), sub(1, &[0], Some(2))];
        assert_eq!(
            counted_claims(&late, 2, Flaws::NONE),
            vec![[1].into_iter().collect(), [0].into_iter().collect()]
        );
        let a = Assignor::Sticky.assign(&subs, 2, Flaws::NONE);
        assert_eq!(a[1].1, [0].into_iter().collect());
        assert_eq!(a[0].1, [1].into_iter().collect());
    }

    /// KAFKA-14639: the flawed assignor heard the claims of the newest generation any member
    /// reported, and dropped the others, even where nobody else claims the partition.
    #[test]
    fn with_kafka_14639_only_the_newest_reported_generation_is_heard() {
        let subs = [sub(0, &[1], Some(1)), sub(1, &[0], Some(2))];
        let flawed = Flaws::NONE.with(Flaw::CooperativeTrustsStaleClaim);
        assert_eq!(
            counted_claims(&subs, 2, flawed),
            vec![Partitions::EMPTY, [0].into_iter().collect()]
        );
        assert_eq!(
            counted_claims(&subs, 2, Flaws::NONE),
            vec![[1].into_iter().collect(), [0].into_iter().collect()]
        );
    }

    /// Two members of one generation claim p0: neither claim counts, and p0 is given once.
    #[test]
    fn a_partition_claimed_twice_in_one_generation_counts_for_neither() {
        let subs = [sub(0, &[0, 1], Some(2)), sub(1, &[0], Some(2))];
        let counted = counted_claims(&subs, 2, Flaws::NONE);
        assert_eq!(counted, vec![[1].into_iter().collect(), Partitions::EMPTY]);
        let a = Assignor::Sticky.assign(&subs, 2, Flaws::NONE);
        assert_eq!(a[0].1.intersection(a[1].1), Partitions::EMPTY);
        assert_eq!(a[0].1.union(a[1].1), Partitions::all(2));
    }

    /// A third member joins a group where two members own two partitions each: the cooperative
    /// round takes nothing from its owner for the newcomer; once the owner has revoked, the
    /// follow-up round hands it over.
    #[test]
    fn cooperative_moves_a_partition_in_two_rounds() {
        let subs = [
            sub(0, &[0, 1], Some(3)),
            sub(1, &[2, 3], Some(3)),
            sub(2, &[], None),
        ];
        let first = Assignor::CooperativeSticky.assign(&subs, 4, Flaws::NONE);
        assert_eq!(first[2].1, Partitions::EMPTY, "nothing moves in one round");
        let sticky = Assignor::Sticky.assign(&subs, 4, Flaws::NONE);
        let moving = sticky[2].1;
        assert_eq!(moving.len(), 1);
        // The owners revoke what they lost and rejoin with what they kept.
        let kept: Vec<Subscription> = first
            .iter()
            .map(|(m, g)| Subscription {
                member: *m,
                owned: *g,
                generation: Some(Generation(4)),
            })
            .collect();
        let second = Assignor::CooperativeSticky.assign(&kept, 4, Flaws::NONE);
        assert_eq!(second[2].1, moving);
    }
}
