//! The `groupcheck` command line.

#[cfg(not(loom))]
mod cli;

// The checker clones millions of small states; mimalloc's per-thread free lists make each
// allocation cheaper than the system allocator's.
#[cfg(not(loom))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(not(loom))]
fn main() {
    std::process::exit(cli::run(std::env::args_os()));
}

/// Under `cfg(loom)` only the loom tests are built; the command line needs real threads.
#[cfg(loom)]
fn main() {}
