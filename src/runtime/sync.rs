//! The synchronisation the runtime uses, from `std` normally and from loom under `cfg(loom)`, so
//! that the loom tests explore every interleaving of exactly the code that runs.

#[cfg(loom)]
pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub use loom::thread;

#[cfg(not(loom))]
pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub use std::thread;

/// Locks a mutex. A poisoned lock means a thread panicked inside the core; carry on with the
/// state as it is (the property checks will judge it).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
