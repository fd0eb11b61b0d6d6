//! Runs the real `mcp-audit` binary from the crate root, so fixture paths in its output are the
//! short relative paths the tests pass, the same on every machine.

use std::process::{Command, Output};

pub fn mcp_audit(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-audit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output();
    match output {
        Ok(output) => output,
        Err(error) => panic!("cannot run mcp-audit {args:?}: {error}"),
    }
}
