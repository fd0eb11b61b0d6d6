//! The markdown report.

use super::ScanReport;

pub fn render(report: &ScanReport<'_>) -> String {
    crate::report::json::render(report)
}
