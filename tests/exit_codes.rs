//! The exit-code contract: 0 nothing at or above `--fail-on`, 1 findings at or above it,
//! 2 the run itself failed, with a message that names what failed.

mod cli;

use cli::mcp_audit;

const POISONED: &str = "fixtures/report/poisoned-demo.json";

#[test]
fn findings_at_the_default_threshold_exit_1() {
    let output = mcp_audit(&["scan", "--tools", POISONED]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn findings_below_the_threshold_exit_0() {
    let output = mcp_audit(&["scan", "--tools", POISONED, "--fail-on", "critical"]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_clean_server_exits_0() {
    let output = mcp_audit(&["scan", "--tools", "fixtures/report/clean-server.json"]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_malformed_file_exits_2_and_names_the_file() {
    let output = mcp_audit(&["scan", "--tools", "fixtures/report/malformed.json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fixtures/report/malformed.json"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

/// Runs `mcp-audit ARGS`, killed if it has not ended in 60 s: an unbounded read never would.
fn mcp_audit_within_a_minute(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-audit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("mcp-audit {args:?} did not end: it read without a bound");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn a_device_named_as_input_is_refused_at_once() {
    for args in [
        &["scan", "--offline", "/dev/zero"][..],
        &["scan", "--tools", "/dev/zero"][..],
    ] {
        let output = mcp_audit_within_a_minute(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("/dev/zero") && stderr.contains("not a regular file"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_lockfile_past_its_cap_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let lockfile = dir.path().join("mcp-audit.lock");
    // Sparse: the size is what counts, not what the disk holds.
    std::fs::File::create(&lockfile)
        .unwrap()
        .set_len(mcp_audit::lockfile::MAX_LOCKFILE_BYTES + 1)
        .unwrap();
    let shown = lockfile.to_str().unwrap();
    let output = mcp_audit_within_a_minute(&[
        "scan",
        "--tools",
        "fixtures/report/clean-server.json",
        "--lockfile",
        shown,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(shown) && stderr.contains("more than the"),
        "{stderr}"
    );
}

#[test]
fn jobs_and_timeouts_past_their_bounds_are_refused() {
    for (flag, value) in [
        ("--jobs", "100000"),
        ("--timeout", "18446744073709551615"),
        ("--timeout", "0"),
    ] {
        let output = mcp_audit(&["scan", "--tools", POISONED, flag, value]);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
}
