//! The JSON report: `{"version": 2, "servers": [...], "findings": [...]}`, stable and versioned;
//! the README documents every field.

use super::ScanReport;
use serde_json::json;

/// Bumped when a field changes meaning or disappears; new fields do not bump it.
pub const JSON_VERSION: u32 = 2;

pub fn render(report: &ScanReport<'_>) -> String {
    let document = json!({
        "version": JSON_VERSION,
        "servers": report.servers,
        "findings": report.findings,
    });
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}
