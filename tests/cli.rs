//! The command line: exit codes and messages for good and bad input.

use std::process::{Command, Output};

fn groupcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_groupcheck"))
        .args(args)
        .output()
        .expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn list_shows_every_model_with_its_expectation() {
    let o = groupcheck(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("reference") && out.contains("pass"));
    assert!(
        out.contains("flaw-commit-without-fencing") && out.contains("violates no_zombie_commit")
    );
}

#[test]
fn check_of_a_passing_model_exits_0_with_verdicts() {
    let o = groupcheck(&["check", "formation", "--threads", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("single_owner") && out.contains("holds"));
    assert!(out.contains("settled_converged") && out.contains("witness found"));
    assert!(out.contains("exhaustive"));
}

#[test]
fn check_of_a_flaw_model_exits_0_when_the_flaw_is_caught_and_prints_the_counterexample() {
    let o = groupcheck(&["check", "flaw-commit-without-fencing"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("no_zombie_commit") && out.contains("VIOLATED"));
    assert!(out.contains("counterexample"));
}

#[test]
fn a_bounded_run_exits_1_as_inconclusive() {
    let o = groupcheck(&["check", "small", "--max-states", "500"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("inconclusive"));
}

#[test]
fn an_unknown_model_exits_2_naming_it() {
    let o = groupcheck(&["check", "no-such-model"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown model `no-such-model`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_malformed_model_file_exits_2_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("groupcheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("syntax.toml", "consumers = [", "malformed model file"),
        (
            "unknown-field.toml",
            "description = \"x\"\nconsumers = 2\npartitions = 1\ncolour = 3\n[expect]\n",
            "unknown field",
        ),
        (
            "range.toml",
            "description = \"x\"\nconsumers = 0\npartitions = 1\n[expect]\n",
            "consumers: must be 1 to 6",
        ),
        (
            "flaw.toml",
            "description = \"x\"\nconsumers = 1\npartitions = 1\nflaw = \"nope\"\n[expect]\n",
            "unknown variant",
        ),
        (
            "property.toml",
            "description = \"x\"\nconsumers = 1\npartitions = 1\n[expect]\nviolated = [\"nope\"]\n",
            "unknown property `nope`",
        ),
    ];
    for (file, text, needle) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let o = groupcheck(&["check", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{file}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{file}: {}", stderr(&o));
    }
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        &["check", "--threads", "0", "formation"][..],
        &["check", "--max-states", "lots", "formation"],
        &["check", "--bogus"],
        &["check"],
        &["frobnicate"],
    ] {
        let o = groupcheck(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
}

#[test]
fn a_missing_model_directory_exits_2() {
    let o = groupcheck(&["list", "--models", "/nonexistent/groupcheck-models"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read model directory"));
}
