//! The text report.

use super::ScanReport;

pub fn render(report: &ScanReport<'_>, _color: bool) -> String {
    crate::report::json::render(report)
}
