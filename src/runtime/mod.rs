//! The concurrent in-memory runtime: the same sans-IO core, shared by threads.
//!
//! [`service::GroupService`] is what a Kafka-compatible broker (or a test double) would embed:
//! the coordinators of the brokers and the `__consumer_offsets` partition, each behind its own
//! lock, with answers deferred until durable. [`client`] drives it the way a consumer does,
//! with the core's consumer state machine. The synchronisation comes from [`sync`], which is
//! `std` normally and loom under `cfg(loom)`.

#[cfg(not(loom))]
pub mod bench;
pub mod client;
pub mod history;
#[cfg(not(loom))]
pub mod live;
pub mod service;
pub mod sync;
#[cfg(not(loom))]
pub mod threads;
#[cfg(not(loom))]
pub mod timers;

pub use service::{ClientStep, Event, GroupService, Timer};
