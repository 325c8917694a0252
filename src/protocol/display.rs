//! One-line renderings of requests and responses for terminal output.

use super::{InstanceId, MemberId, Offset, Partition, Request, Response};
use std::fmt;

fn opt_member(m: &Option<MemberId>) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| "\"\"".into())
}

/// `, instance-N` for a static member's request.
fn instance(i: &Option<InstanceId>) -> String {
    i.map(|i| format!(", {i}")).unwrap_or_default()
}

fn offsets(os: &[(Partition, Offset)]) -> String {
    os.iter()
        .map(|(p, o)| format!("p{p}@{o}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::FindCoordinator => write!(f, "FindCoordinator"),
            Request::JoinGroup {
                member_id,
                protocols,
                claim,
                instance: i,
            } => {
                write!(
                    f,
                    "JoinGroup(member={}{}, protocols={protocols}",
                    opt_member(member_id),
                    instance(i)
                )?;
                if let Some(c) = claim {
                    write!(f, ", owned={}@gen{}", c.partitions, c.generation)?;
                }
                write!(f, ")")
            }
            Request::SyncGroup {
                member_id,
                generation,
                assignments,
                instance: i,
            } => {
                write!(
                    f,
                    "SyncGroup(member={member_id}{}, gen={generation}",
                    instance(i)
                )?;
                if !assignments.is_empty() {
                    let a: Vec<String> = assignments
                        .iter()
                        .map(|(m, ps)| format!("{m}:{ps}"))
                        .collect();
                    write!(f, ", assignment=[{}]", a.join(" "))?;
                }
                write!(f, ")")
            }
            Request::Heartbeat {
                member_id,
                generation,
                instance: i,
            } => write!(
                f,
                "Heartbeat(member={member_id}{}, gen={generation})",
                instance(i)
            ),
            Request::LeaveGroup {
                member_id,
                instance: i,
            } => write!(f, "LeaveGroup(member={member_id}{})", instance(i)),
            Request::OffsetCommit {
                member_id,
                generation,
                offsets: os,
                instance: i,
            } => write!(
                f,
                "OffsetCommit(member={member_id}{}, gen={generation}, {})",
                instance(i),
                offsets(os)
            ),
            Request::OffsetFetch { partitions } => write!(f, "OffsetFetch({partitions})"),
        }
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Response::FindCoordinator { error, coordinator } => {
                write!(f, "FindCoordinator {error}")?;
                if let Some(b) = coordinator {
                    write!(f, " broker-{b}")?;
                }
                Ok(())
            }
            Response::JoinGroup {
                error,
                generation,
                protocol,
                member_id,
                leader,
                members,
                claims,
                skip_assignment,
            } => {
                write!(f, "JoinGroup {error}")?;
                match error {
                    super::ErrorCode::None => {
                        write!(f, " gen={generation}")?;
                        if let Some(p) = protocol {
                            write!(f, " protocol={}", p.wire_name())?;
                        }
                        write!(
                            f,
                            " member={} leader={}",
                            opt_member(member_id),
                            opt_member(leader)
                        )?;
                        if !members.is_empty() {
                            let ms: Vec<String> = members.iter().map(|m| m.to_string()).collect();
                            write!(f, " members=[{}]", ms.join(","))?;
                        }
                        if !claims.is_empty() {
                            let cs: Vec<String> = claims
                                .iter()
                                .map(|(m, c)| format!("{m}:{}@gen{}", c.partitions, c.generation))
                                .collect();
                            write!(f, " owned=[{}]", cs.join(" "))?;
                        }
                        if *skip_assignment {
                            write!(f, " skip-assignment")?;
                        }
                        Ok(())
                    }
                    super::ErrorCode::MemberIdRequired => {
                        write!(f, " member={}", opt_member(member_id))
                    }
                    _ => Ok(()),
                }
            }
            Response::SyncGroup {
                error, assignment, ..
            } => {
                write!(f, "SyncGroup {error}")?;
                if *error == super::ErrorCode::None {
                    write!(f, " assignment={assignment}")?;
                }
                Ok(())
            }
            Response::Heartbeat { error } => write!(f, "Heartbeat {error}"),
            Response::LeaveGroup { error } => write!(f, "LeaveGroup {error}"),
            Response::OffsetCommit { error, offsets: os } => {
                write!(f, "OffsetCommit {error} ({})", offsets(os))
            }
            Response::OffsetFetch { error, offsets: os } => {
                write!(f, "OffsetFetch {error}")?;
                for (p, o) in os {
                    match o {
                        Some(o) => write!(f, " p{p}@{o}")?,
                        None => write!(f, " p{p}@none")?,
                    }
                }
                Ok(())
            }
        }
    }
}
