//! The `groupcheck` command line.

#[cfg(not(loom))]
mod cli;

#[cfg(not(loom))]
fn main() {
    std::process::exit(cli::run(std::env::args_os()));
}

/// Under `cfg(loom)` only the loom tests are built; the command line needs real threads.
#[cfg(loom)]
fn main() {}
