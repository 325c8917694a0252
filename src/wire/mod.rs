//! Kafka's wire protocol: `groupcheck serve`, a Kafka-compatible endpoint whose group
//! coordinator is the concurrent runtime ([`crate::runtime::GroupService`]) on the verified
//! core, so that real clients (librdkafka, kafka-python, the Java client) form groups on it.
//!
//! - [`frame`]: size-prefixed frames, decoded and encoded by the `kafka-protocol` crate.
//! - [`api`]: the APIs and versions served; metadata, coordinator lookup, and the data plane.
//! - [`topics`]: topics held in memory.
//! - [`group`]: the group APIs, renamed into the core's requests and back.
//! - [`server`]: the listeners and connections.
//! - [`client`] and [`member`]: a connection to a Kafka broker, and a group member over it
//!   (for the benchmark and the probe).
//! - [`core_client`]: the core's consumer over such a connection (for the probe).
//! - [`consumer_protocol`]: subscriptions and assignments as bytes with their version.
//!
//! Every group decision is the core's. docs/serve.md says what the server can observe and
//! check, and what it cannot.

pub mod api;
pub mod bench;
pub mod client;
pub mod consumer_protocol;
pub mod core_client;
pub mod frame;
pub mod group;
pub mod member;
pub mod server;
pub mod topics;

pub use server::{FaultSchedule, ServeConfig, ServeFault, ServeReport, Server};
