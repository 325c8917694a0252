//! Joining a thread without losing its panic. A panic in a runtime or server thread is a bug
//! in the system under test (most likely in the core it runs); the run it happened in cannot
//! vouch for its history, whose missing steps no property can judge, so it must be reported.

use std::any::Any;
use std::thread::JoinHandle;

/// Waits for `handle`; a panic becomes "`who` panicked: …".
pub fn join<T>(handle: JoinHandle<T>, who: &str) -> Result<T, String> {
    handle.join().map_err(|payload| panicked(who, &*payload))
}

/// "`who` panicked: " and the panic's message.
pub fn panicked(who: &str, payload: &(dyn Any + Send)) -> String {
    let message = (payload.downcast_ref::<&str>().copied())
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("{who} panicked: {message}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panicking_thread_is_reported_with_its_message() {
        let formatted = std::thread::spawn(|| -> u8 { panic!("broke at {}", 3) });
        let literal = std::thread::spawn(|| -> u8 { panic!("broke") });
        let fine = std::thread::spawn(|| 7u8);
        let results = [
            super::join(formatted, "consumer-1's thread"),
            super::join(literal, "the timer thread"),
            super::join(fine, "the replication thread"),
        ];
        assert_eq!(
            results,
            [
                Err("consumer-1's thread panicked: broke at 3".into()),
                Err("the timer thread panicked: broke".into()),
                Ok(7),
            ]
        );
    }
}
