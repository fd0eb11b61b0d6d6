//! Every file the binary writes is created anew beside its destination and renamed over it: a
//! symlink planted at the destination (by a pull request, in a shared workspace) is replaced,
//! never followed, and a file the same run reads is never overwritten.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-audit");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-audit-writes-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("work")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/policy/held-out/.mcp.json"),
        dir.join("work/.mcp.json"),
    )
    .unwrap();
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// A symlink at `link` (under `dir/work`) to a file outside, which does not exist yet.
fn dangling_symlink(dir: &Path, link: &str) -> PathBuf {
    let target = dir.join("outside-startup-file");
    std::os::unix::fs::symlink(&target, dir.join("work").join(link)).unwrap();
    target
}

#[test]
fn policy_init_refuses_a_dangling_symlink_at_its_target_and_replaces_it_with_force() {
    let dir = temp_dir("init-symlink");
    let target = dangling_symlink(&dir, "mcp-audit.toml");
    let work = dir.join("work");
    let refused = run_in(&work, &["policy", "init", ".mcp.json"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert!(!target.exists(), "the symlink's target was written");

    let forced = run_in(&work, &["policy", "init", ".mcp.json", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{forced:?}");
    assert!(!target.exists(), "the symlink's target was written");
    let policy = work.join("mcp-audit.toml");
    assert!(!std::fs::symlink_metadata(&policy).unwrap().is_symlink());
    assert!(
        std::fs::read_to_string(&policy)
            .unwrap()
            .contains("[perimeter]")
    );
}

#[test]
fn a_report_replaces_a_dangling_symlink_at_its_output() {
    let dir = temp_dir("report-symlink");
    let target = dangling_symlink(&dir, "report.sarif");
    let work = dir.join("work");
    let run = run_in(
        &work,
        &[
            "scan",
            "--offline",
            "--format",
            "sarif",
            "-o",
            "report.sarif",
            ".mcp.json",
        ],
    );
    assert!(matches!(run.status.code(), Some(0 | 1)), "{run:?}");
    assert!(!target.exists(), "the symlink's target was written");
    let report = std::fs::read_to_string(work.join("report.sarif")).unwrap();
    assert!(report.contains("\"version\": \"2.1.0\""), "{report}");
}

#[test]
fn a_report_over_the_scanned_config_is_refused() {
    let dir = temp_dir("report-input");
    let work = dir.join("work");
    let config = std::fs::read_to_string(work.join(".mcp.json")).unwrap();
    std::os::unix::fs::symlink(work.join(".mcp.json"), work.join("alias.json")).unwrap();
    for output in [".mcp.json", "./.mcp.json", "alias.json"] {
        let run = run_in(&work, &["scan", "--offline", "-o", output, ".mcp.json"]);
        assert_eq!(run.status.code(), Some(2), "{output}: {run:?}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("which this run reads"), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(work.join(".mcp.json")).unwrap(),
            config
        );
    }
}
