//! Runs the loom tests (`tests/loom.rs`) from the normal test command. loom needs the whole
//! crate built with `--cfg loom`, so this builds it in its own target directory
//! (`target/loom`) and runs it there.

use std::process::Command;

#[test]
fn loom_explores_every_race_scenario_without_a_violation() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(cargo)
        .args(["test", "--release", "--test", "loom"])
        .current_dir(root)
        .env("RUSTFLAGS", "--cfg loom")
        .env("CARGO_TARGET_DIR", format!("{root}/target/loom"))
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "loom tests failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 6 passed"),
        "expected the six loom scenarios:\n{stdout}"
    );
}
