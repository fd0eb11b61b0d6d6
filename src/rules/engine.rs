//! The rule engine: runs every text rule over every text of every capture, in parallel, and
//! turns matches into findings. Texts are normalised once; encoded runs are decoded, and
//! disguises undone, and scanned again. It reads captures and rules and nothing else.

use super::matcher::{Matcher, MatcherError};
use super::normalize::{decode_runs, identifier_words, normalize_mapped};
use super::reveal::{Revealed, reveal};
use super::text::{Text, capture_texts};
use super::{Rule, RuleSet, checks};
use crate::capture::Capture;
use crate::finding::{Finding, FindingSpec, Location};
use rayon::prelude::*;

/// Text rules compiled for matching.
pub struct Engine {
    rules: Vec<Rule>,
    matcher: Matcher,
}

/// Characters of normalised context shown either side of a match.
const EVIDENCE_CONTEXT: usize = 30;

impl Engine {
    /// Compile every rule of `set` that reads text.
    pub fn new(set: &RuleSet) -> Result<Self, MatcherError> {
        let rules: Vec<Rule> = set.iter().filter(|r| r.is_text_rule()).cloned().collect();
        let refs: Vec<&Rule> = rules.iter().collect();
        let lexicons: Vec<_> = set.lexicons().collect();
        Ok(Engine {
            matcher: Matcher::new(&refs, &lexicons)?,
            rules,
        })
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Scan captures in parallel; findings come back in report order.
    pub fn scan(&self, captures: &[Capture]) -> Vec<Finding> {
        let work: Vec<(&Capture, Text)> = captures
            .iter()
            .flat_map(|c| capture_texts(c).into_iter().map(move |t| (c, t)))
            .collect();
        let mut findings: Vec<Finding> = work
            .par_iter()
            .flat_map_iter(|(capture, text)| {
                let location = capture
                    .location
                    .clone()
                    .unwrap_or_else(|| Location::file(capture.source.to_string_lossy()));
                self.scan_text(&capture.server, text, Some(location))
            })
            .collect();
        crate::finding::sort_findings(&mut findings);
        findings
    }

    /// Every finding of every text rule on one text, on what its encoded runs decode to, and on
    /// the text with its disguises undone.
    pub fn scan_text(&self, server: &str, text: &Text, location: Option<Location>) -> Vec<Finding> {
        let mut findings = self.match_text(server, text, None, &location);
        for decoded in decode_runs(&text.value) {
            let hidden = Text {
                field: format!("{} ({}-decoded)", text.field, decoded.encoding.as_str()),
                value: decoded.text,
                ..text.clone()
            };
            findings.extend(self.match_text(server, &hidden, None, &location));
        }
        if let Some(revealed) = reveal(&text.value) {
            let disguised = Text {
                field: format!("{} ({}-decoded)", text.field, revealed.label()),
                ..text.clone()
            };
            // A rule the plain text already fired adds nothing when it fires again.
            let fresh: Vec<Finding> = self
                .match_text(server, &disguised, Some(&revealed), &location)
                .into_iter()
                .filter(|f| !findings.iter().any(|known| known.rule_id == f.rule_id))
                .collect();
            findings.extend(fresh);
        }
        findings
    }

    /// The findings on `text`, or, given `revealed`, on it with its disguises undone; evidence
    /// is always cut from the text as written. Named checks read the text as written, so they
    /// run on the plain pass only.
    fn match_text(
        &self,
        server: &str,
        text: &Text,
        revealed: Option<&Revealed>,
        location: &Option<Location>,
    ) -> Vec<Finding> {
        let read = revealed.map_or(text.value.as_str(), |r| r.text.as_str());
        // Names are matched as the words they are made of and shown whole.
        let words = identifier_words(read);
        let normalized = normalize_mapped(words.as_deref().unwrap_or(read));
        let mut findings = Vec::new();
        for m in self.matcher.matches(&normalized.text) {
            let rule = &self.rules[m.rule];
            let job = text.item.as_deref();
            if rule.reads(text.kind) && !job.is_some_and(|n| self.matcher.vetoed_by_name(m.rule, n))
            {
                let evidence = match words {
                    Some(_) => text.value.clone(),
                    None => {
                        let (start, end) = normalized.raw_span(read, m.start, m.end);
                        let (start, end) =
                            revealed.map_or((start, end), |r| r.raw_span(start, end));
                        around(&text.value, start, end)
                    }
                };
                let message = signal_message(rule, &m.signals);
                findings.push(self.finding(rule, server, text, &evidence, location, message));
            }
        }
        if revealed.is_some() {
            return findings;
        }
        for rule in &self.rules {
            let Some(check) = &rule.check else { continue };
            if rule.reads(text.kind)
                && let Some(evidence) = checks::run(check, text)
            {
                let message = rule.summary.clone();
                findings.push(self.finding(rule, server, text, &evidence, location, message));
            }
        }
        findings
    }

    fn finding(
        &self,
        rule: &Rule,
        server: &str,
        text: &Text,
        evidence: &str,
        location: &Option<Location>,
        message: String,
    ) -> Finding {
        Finding::new(FindingSpec {
            rule_id: &rule.id,
            category: rule.category,
            severity: rule.severity,
            confidence: rule.confidence,
            server,
            message,
        })
        .tool(text.item.as_deref())
        .field(&text.field)
        .evidence(evidence)
        .location(location.clone())
    }
}

/// A finding's message: the rule's summary, and for a detector the signals that fired, so a
/// reviewer sees why.
fn signal_message(rule: &Rule, fired: &[usize]) -> String {
    let signals = rule.pattern.iter().flat_map(|p| &p.signals);
    let names: Vec<&str> = signals
        .enumerate()
        .filter(|(i, _)| fired.contains(i))
        .map(|(_, s)| s.name.as_str())
        .collect();
    if names.is_empty() {
        return rule.summary.clone();
    }
    format!("{} (signals: {})", rule.summary, names.join(", "))
}

/// The matched span with a little context, cut at character boundaries.
fn around(text: &str, start: usize, end: usize) -> String {
    let from = text[..start]
        .char_indices()
        .rev()
        .nth(EVIDENCE_CONTEXT - 1)
        .map_or(0, |(i, _)| i);
    let to = text[end..]
        .char_indices()
        .nth(EVIDENCE_CONTEXT)
        .map_or(text.len(), |(i, _)| end + i);
    let mut evidence = String::new();
    if from > 0 {
        evidence.push('…');
    }
    evidence.push_str(&text[from..to]);
    if to < text.len() {
        evidence.push('…');
    }
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_keeps_context_at_char_boundaries() {
        let text = "ééééééééééééééééééééééééééééééééé match ééééééééééééééééééééééééééééééééé";
        let start = text.find("match").unwrap();
        let evidence = around(text, start, start + 5);
        assert!(evidence.contains("match"));
        assert!(evidence.starts_with('…') && evidence.ends_with('…'));
    }
}
