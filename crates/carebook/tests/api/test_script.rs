//! `scripts/test`, the README's test command (and CI's), run against a stand-in `cargo` that
//! prints what real runs print and exits as they do.

use std::path::Path;
use std::process::Command;

const PASSED: &str = "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out";
const DOC_TESTS: &str = "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured";
const FAILED: &str = "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured";

struct Run {
    success: bool,
    last_line: String,
    /// The arguments `cargo` was called with.
    cargo_args: String,
    stderr: String,
}

/// Runs `scripts/test --locked` with a `cargo` that prints `output` and exits with `status`.
fn run(output: &[&str], status: i32) -> Run {
    let fake = tempfile::tempdir().unwrap();
    let cargo = fake.path().join("cargo");
    let script = format!(
        "#!/usr/bin/env bash\necho \"$@\" >{args}\ncat <<'OUT'\n{}\nOUT\nexit {status}\n",
        output.join("\n"),
        args = fake.path().join("args").display(),
    );
    std::fs::write(&cargo, script).unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&cargo, executable).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = format!(
        "{}:{}",
        fake.path().display(),
        std::env::var("PATH").unwrap()
    );
    let result = Command::new(root.join("scripts/test"))
        .arg("--locked")
        .env("PATH", path)
        .output()
        .expect("scripts/test runs");
    let stdout = String::from_utf8(result.stdout).unwrap();
    Run {
        success: result.status.success(),
        last_line: stdout.lines().last().unwrap_or_default().to_owned(),
        cargo_args: std::fs::read_to_string(fake.path().join("args")).unwrap(),
        stderr: String::from_utf8(result.stderr).unwrap(),
    }
}

#[test]
fn every_binary_runs_and_the_last_line_sums_them_up() {
    let run = run(&["running 4 tests", PASSED, PASSED, DOC_TESTS], 0);
    assert!(run.success);
    assert_eq!(run.last_line, "tests: 6 passed, 0 failed");
    assert_eq!(run.cargo_args, "test --workspace --no-fail-fast --locked\n");
}

#[test]
fn a_failed_test_fails_the_run_and_is_counted_with_the_later_binaries() {
    let run = run(&[FAILED, PASSED, "error: 1 target failed:"], 101);
    assert!(!run.success);
    assert_eq!(run.last_line, "tests: 5 passed, 1 failed");
}

#[test]
fn a_run_where_nothing_ran_fails() {
    let run = run(&[DOC_TESTS], 0);
    assert!(!run.success);
    assert_eq!(run.last_line, "tests: 0 passed, 0 failed");
    assert!(run.stderr.contains("no test ran"), "{}", run.stderr);
}

#[test]
fn a_cargo_failure_without_a_failed_test_fails_the_run() {
    // A build error, or a test binary killed by a signal, prints no failed test.
    let run = run(
        &[PASSED, "error: test failed, to rerun pass `--test api`"],
        101,
    );
    assert!(!run.success);
    assert_eq!(run.last_line, "tests: 3 passed, 0 failed");
    assert!(
        run.stderr.contains("exited with status 101"),
        "{}",
        run.stderr
    );
}
