//! groupcheck: proves things about Kafka's consumer group protocol.
//!
//! Layers, lowest first (a layer never imports a higher one):
//! - [`protocol`], [`flaw`], [`offsets_log`]: the vocabulary — messages, error codes, records,
//!   the named deviations, and the `__consumer_offsets` partition;
//! - [`coordinator`], [`consumer`], [`assignor`]: the sans-IO protocol core;
//! - [`model`]: the Stateright model built on the core, with its properties;
//! - [`check`] and [`catalogue`]: running the models of `models/` and judging the results;
//! - the `groupcheck` binary's command line.

pub mod assignor;
pub mod catalogue;
pub mod check;
pub mod conformance;
pub mod consumer;
pub mod coordinator;
pub mod flaw;
pub mod model;
pub mod offsets_log;
pub mod protocol;
pub mod report;
pub mod runtime;
pub mod trace;
