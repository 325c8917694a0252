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
    // Every scenario of tests/loom.rs ran, however many there are.
    let scenarios = std::fs::read_to_string(format!("{root}/tests/loom.rs"))
        .expect("tests/loom.rs is readable")
        .matches("#[test]")
        .count();
    assert!(scenarios > 0, "tests/loom.rs has no scenario");
    assert!(
        stdout.contains(&format!("test result: ok. {scenarios} passed; 0 failed")),
        "expected the {scenarios} loom scenarios of tests/loom.rs to pass:\n{stdout}"
    );
}
