//! `Finding`: the one value every stage produces and every report consumes.
//! It carries what was found, where, and how sure we are; it never decides how it is printed.

use crate::config::secrets::redact_text;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a finding is. Ordered, so `--fail-on` is a comparison.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// GitHub code scanning's `security-severity`: a CVSS-like score whose bands map back to
    /// these levels (critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0, low > 0).
    pub fn security_score(self) -> &'static str {
        match self {
            Severity::Info => "0.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How likely the finding is a true positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Which family of checks produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Poisoning,
    Shadowing,
    RugPull,
    SupplyChain,
    Config,
    Annotations,
    Capture,
    Policy,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Poisoning => "poisoning",
            Category::Shadowing => "shadowing",
            Category::RugPull => "rug-pull",
            Category::SupplyChain => "supply-chain",
            Category::Config => "config",
            Category::Annotations => "annotations",
            Category::Capture => "capture",
            Category::Policy => "policy",
        }
    }
}

/// A place in a file. Lines and columns are 1-based, as editors and SARIF count them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Location {
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            line: None,
            column: None,
        }
    }

    pub fn at(path: impl Into<String>, line: u32, column: u32) -> Self {
        Location {
            path: path.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// One thing found. Field order is the JSON output's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub category: Category,
    pub severity: Severity,
    pub confidence: Confidence,
    pub server: String,
    pub tool: Option<String>,
    /// Which text: `description`, `inputSchema.properties.path.description`, `instructions`, …
    pub field: String,
    pub message: String,
    /// The matched text, with invisible characters made visible.
    pub evidence: String,
    pub location: Option<Location>,
}

/// What every finding must have; the builder cannot be finished without it.
pub struct FindingSpec<'a> {
    pub rule_id: &'a str,
    pub category: Category,
    pub severity: Severity,
    pub confidence: Confidence,
    pub server: &'a str,
    pub message: String,
}

impl Finding {
    pub fn new(spec: FindingSpec<'_>) -> Self {
        Finding {
            rule_id: spec.rule_id.to_string(),
            category: spec.category,
            severity: spec.severity,
            confidence: spec.confidence,
            server: spec.server.to_string(),
            tool: None,
            field: String::new(),
            message: redact_text(&spec.message),
            evidence: String::new(),
            location: None,
        }
    }

    pub fn tool(mut self, tool: Option<&str>) -> Self {
        self.tool = tool.map(str::to_string);
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    pub fn evidence(mut self, evidence: &str) -> Self {
        self.evidence = make_visible(&redact_text(evidence));
        self
    }

    pub fn location(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// The deterministic order of every report: server, tool, field, rule, then the rest.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            &self.server,
            &self.tool,
            &self.field,
            &self.rule_id,
            std::cmp::Reverse(self.severity),
            &self.evidence,
            &self.message,
        )
    }
}

/// Sort findings into report order and drop exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
}

/// Longest evidence kept; a poisoned description can be megabytes.
const EVIDENCE_MAX_CHARS: usize = 240;

/// Replace characters a reader cannot see (zero-width, bidi controls, Unicode tags, control
/// characters) with `<U+XXXX>` and cut long evidence, so a report never hides what it shows.
pub fn make_visible(text: &str) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count >= EVIDENCE_MAX_CHARS {
            out.push('…');
            break;
        }
        push_visible(&mut out, c);
    }
    out
}

/// `make_visible` without the cut, for error messages: a path or a list of keys is shown whole.
pub fn visible_whole(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    out
}

fn push_visible(out: &mut String, c: char) {
    if c == '\n' || c == '\t' {
        out.push(' ');
    } else if is_invisible(c) || c.is_control() {
        out.push_str(&format!("<U+{:04X}>", c as u32));
    } else {
        out.push(c);
    }
}

/// Characters that render as nothing (or reorder what follows) yet reach the model.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD            // soft hyphen
        | 0x034F          // combining grapheme joiner
        | 0x061C          // arabic letter mark
        | 0x115F | 0x1160 // hangul fillers
        | 0x17B4 | 0x17B5
        | 0x180B..=0x180F // mongolian variation selectors and vowel separator
        | 0x200B..=0x200F // zero-width space, joiners, LRM, RLM
        | 0x202A..=0x202E // bidi embeddings and overrides
        | 0x2060..=0x2064 // word joiner, invisible operators
        | 0x2066..=0x206F // bidi isolates, deprecated format characters
        | 0x3164          // hangul filler
        | 0xFE00..=0xFE0F // variation selectors
        | 0xFEFF          // zero-width no-break space
        | 0xFFA0
        | 0xFFF9..=0xFFFB // interlinear annotation
        | 0x1D173..=0x1D17A
        | 0xE0000..=0xE007F // Unicode tag characters
        | 0xE0100..=0xE01EF // variation selectors supplement
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_from_info_to_critical() {
        assert!(Severity::Info < Severity::Low);
        assert!(Severity::High < Severity::Critical);
    }

    #[test]
    fn make_visible_shows_hidden_characters() {
        assert_eq!(make_visible("a\u{200B}b"), "a<U+200B>b");
        assert_eq!(make_visible("x\u{E0041}"), "x<U+E0041>");
        assert_eq!(make_visible("\u{1b}[2J"), "<U+001B>[2J");
    }

    #[test]
    fn make_visible_cuts_long_evidence() {
        let long = "a".repeat(1000);
        assert_eq!(make_visible(&long).chars().count(), EVIDENCE_MAX_CHARS + 1);
        let error = format!("{long}\u{1b}");
        assert_eq!(visible_whole(&error), format!("{long}<U+001B>"));
    }
}
