//! groupcheck: proves things about Kafka's consumer group protocol.
//!
//! Layers, lowest first (a layer never imports a higher one):
//! - [`protocol`], [`flaw`], [`offsets_log`]: the vocabulary — messages, error codes, records,
//!   the named deviations, and the `__consumer_offsets` partition;
//! - [`coordinator`], [`consumer`], [`assignor`]: the sans-IO protocol core;
//! - [`property`]: the named properties and their judgements, over what the core holds;
//! - [`model`]: the Stateright model built on the core, with its properties; and [`runtime`]:
//!   the concurrent coordinator service built on the same core (neither imports the other);
//! - [`conformance`]: the runtime following the model step by step;
//! - [`trace`]: shortest counterexamples, their serde form, renderings and replay;
//! - [`check`], [`catalogue`] and [`report`]: running the models of `models/`, judging the
//!   results, and writing `reports/` and JUnit XML;
//! - [`probe`]: a black-box check of another broker's coordinator, over [`wire`];
//! - the `groupcheck` binary's command line.

//!
//! Under `cfg(loom)` only the core, the properties and the runtime are built: the loom tests
//! need nothing else, and leaving the checker out (with Stateright and the codecs) halves
//! their build.

pub mod assignor;
#[cfg(not(loom))]
pub mod catalogue;
#[cfg(not(loom))]
pub mod check;
#[cfg(not(loom))]
pub mod conformance;
pub mod consumer;
pub mod coordinator;
pub mod flaw;
#[cfg(not(loom))]
pub mod model;
pub mod offsets_log;
#[cfg(not(loom))]
pub mod probe;
pub mod property;
pub mod protocol;
#[cfg(not(loom))]
pub mod report;
pub mod runtime;
#[cfg(not(loom))]
pub mod trace;
#[cfg(not(loom))]
pub mod wire;
