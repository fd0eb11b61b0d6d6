//! Rules as data: the rule-file format, loading the built-in files embedded in the binary and a
//! user's `--rules DIR`, and validating them. Matching lives in `matcher`, running in `engine`;
//! this module never looks at a server's text.

pub mod capabilities;
pub mod checks;
pub mod engine;
pub mod matcher;
pub mod normalize;
pub mod reveal;
pub mod shadowing;
pub mod text;
pub mod unnamed;

use crate::finding::{Category, Confidence, Finding, FindingSpec, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The built-in rule files, one per family, compiled into the binary.
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[
    (
        "rules/lexicons.yaml",
        include_str!("../../rules/lexicons.yaml"),
    ),
    (
        "rules/poisoning.yaml",
        include_str!("../../rules/poisoning.yaml"),
    ),
    ("rules/config.yaml", include_str!("../../rules/config.yaml")),
    (
        "rules/rug-pull.yaml",
        include_str!("../../rules/rug-pull.yaml"),
    ),
    (
        "rules/supply-chain.yaml",
        include_str!("../../rules/supply-chain.yaml"),
    ),
    (
        "rules/shadowing.yaml",
        include_str!("../../rules/shadowing.yaml"),
    ),
    (
        "rules/annotations.yaml",
        include_str!("../../rules/annotations.yaml"),
    ),
    (
        "rules/capture.yaml",
        include_str!("../../rules/capture.yaml"),
    ),
    ("rules/policy.yaml", include_str!("../../rules/policy.yaml")),
];

/// One rule file: lexicons, rules, or both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub lexicons: Vec<Lexicon>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One part that many techniques share (a secret, the model addressed, a destination, every
/// call), found by words and small patterns written once. Detectors weigh it by name; it is
/// matched once per text however many detectors name it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lexicon {
    /// Kebab-case; what a detector's signal names in `lexicon:`.
    pub name: String,
    /// One line: what the lexicon finds.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub literals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regex: Vec<String>,
    /// Sentences it must and must not find; they run as tests.
    pub examples: LexiconExamples,
}

/// What a lexicon must find and must not find.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconExamples {
    #[serde(rename = "match")]
    pub must_match: Vec<String>,
    #[serde(default, rename = "no_match")]
    pub must_not_match: Vec<String>,
}

/// One rule, as written in a rule file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable identifier, such as `MCP101`; what users suppress and look up.
    pub id: String,
    /// Short kebab-case name, such as `hidden-instruction-block`.
    pub name: String,
    pub category: Category,
    pub severity: Severity,
    pub confidence: Confidence,
    /// One line: what the finding means.
    pub summary: String,
    /// Markdown: what the attack is, why it matters, how to fix. Feeds SARIF `help`.
    pub help: String,
    /// Which texts the rule reads; empty means all of them.
    #[serde(default)]
    pub fields: Vec<FieldKind>,
    /// Literal and regex matchers. A rule with neither `match` nor `check` is raised by code
    /// elsewhere (config lint, supply chain, lockfile) and is listed here for its documentation.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub pattern: Option<MatchSpec>,
    /// A named built-in check, for what a pattern cannot say (see `checks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(default)]
    pub examples: Examples,
}

/// Which kind of text a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Tool, prompt, resource names and URIs.
    Name,
    /// Titles and descriptions of tools, prompts, resources and their arguments.
    Description,
    /// Input and output schemas: descriptions, titles, enums, defaults, examples.
    Schema,
    /// Parameter names: schema property names and prompt argument names.
    Parameter,
    /// Annotation values (`annotations.title` and the like).
    Annotations,
    /// The server's `instructions`.
    Instructions,
}

/// `all` groups must each match (within `window` words of each other when set); a group
/// matches when any of its literals or regexes does. A detector names `signals` instead: the
/// rule matches where the distinct signals found in one sentence (or, with `scope: text`, the
/// whole text) weigh `threshold` or more, and its finding lists them. `unless` groups veto the rule anywhere in
/// the text; `unless_sentence` groups only in the sentences of the match (a negation, an API
/// field being documented); `unless_name` groups when they match the name of the tool, prompt
/// or resource the text belongs to (a tool whose job is the very thing the rule looks for).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<PatternGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i32>,
    #[serde(default, skip_serializing_if = "Scope::is_sentence")]
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless: Vec<PatternGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless_sentence: Vec<PatternGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless_name: Vec<PatternGroup>,
}

/// One signal of a detector: a part of the technique (who is addressed, what is ordered, about
/// what), found by any of its literals or regexes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// Kebab-case; a finding lists the names of the signals that fired.
    pub name: String,
    /// What it adds to the score; negative for context that speaks against the technique.
    pub weight: i32,
    /// A shared lexicon whose hits count for this signal, besides its own literals and regexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lexicon: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub literals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regex: Vec<String>,
}

/// Where a detector's signals are weighed together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Each sentence on its own: an order and its object are written together.
    #[default]
    Sentence,
    /// The whole text: pressure built over several short sentences.
    Text,
}

impl MatchSpec {
    /// Every group of alternatives: the `all` groups and the three kinds of veto.
    pub fn groups(&self) -> impl Iterator<Item = &PatternGroup> {
        self.all
            .iter()
            .chain(&self.unless)
            .chain(&self.unless_sentence)
            .chain(&self.unless_name)
    }

    /// Every regex the spec holds, its signals' own included (not their lexicons').
    pub fn regexes(&self) -> impl Iterator<Item = &String> {
        self.groups()
            .flat_map(|g| &g.regex)
            .chain(self.signals.iter().flat_map(|s| &s.regex))
    }
}

impl Scope {
    fn is_sentence(&self) -> bool {
        *self == Scope::Sentence
    }
}

/// Alternatives: literals are matched case-insensitively on normalised text, at word
/// boundaries; regexes run on the same normalised (lower-cased) text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternGroup {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub literals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regex: Vec<String>,
}

/// Texts a rule must and must not flag; they run as tests.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default, rename = "match")]
    pub must_match: Vec<Example>,
    #[serde(default, rename = "no_match")]
    pub must_not_match: Vec<Example>,
}

/// A string is a tool description; an object is a whole tool definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Example {
    Description(String),
    Tool(serde_json::Value),
}

impl Example {
    pub fn as_tool(&self) -> serde_json::Value {
        match self {
            Example::Description(text) => serde_json::json!({
                "name": "example_tool",
                "description": text,
                "inputSchema": {"type": "object", "properties": {}}
            }),
            Example::Tool(tool) => tool.clone(),
        }
    }
}

impl Rule {
    pub fn reads(&self, kind: FieldKind) -> bool {
        self.fields.is_empty() || self.fields.contains(&kind)
    }

    /// Whether the rule engine runs this rule (rather than code elsewhere raising it).
    pub fn is_text_rule(&self) -> bool {
        self.pattern.is_some() || self.check.is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("cannot read rule file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rule file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: yaml_serde::Error,
    },
    #[error("rule file {path}, rule {id}: {problem}")]
    Invalid {
        path: PathBuf,
        id: String,
        problem: String,
    },
    #[error("rule directory {path} holds no .yaml or .yml rule file")]
    EmptyDirectory { path: PathBuf },
    #[error("no rules loaded: refusing to report a scan that examined nothing")]
    NoRules,
}

/// Every loaded rule, by id, and every lexicon, by name, with the file each came from.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: BTreeMap<String, (Rule, PathBuf)>,
    lexicons: BTreeMap<String, (Lexicon, PathBuf)>,
}

impl RuleSet {
    /// The built-in rules, then every `.yaml`/`.yml` file in each of `dirs`.
    pub fn load(dirs: &[PathBuf]) -> Result<Self, RuleError> {
        let mut set = RuleSet::default();
        // The built-in files are validated by the tests; compiling their regexes on every run
        // would be most of a short run's start-up, so they compile when first needed.
        for (path, text) in BUILTIN_RULE_FILES {
            set.add_source(Path::new(path), text, Compile::Later)?;
        }
        for dir in dirs {
            set.add_dir(dir)?;
        }
        if set.rules.is_empty() {
            return Err(RuleError::NoRules);
        }
        Ok(set)
    }

    fn add_dir(&mut self, dir: &Path) -> Result<(), RuleError> {
        let read_error = |source| RuleError::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_error)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(read_error)?;
        files.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")));
        files.sort();
        if files.is_empty() {
            return Err(RuleError::EmptyDirectory {
                path: dir.to_path_buf(),
            });
        }
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|source| RuleError::Read {
                path: path.clone(),
                source,
            })?;
            self.add_file(&path, &text)?;
        }
        Ok(())
    }

    /// Parse and validate one file's lexicons and rules and add them; a duplicate id or
    /// lexicon name is an error, and so is a signal naming a lexicon not loaded before it.
    pub fn add_file(&mut self, path: &Path, text: &str) -> Result<(), RuleError> {
        self.add_source(path, text, Compile::Now)
    }

    fn add_source(&mut self, path: &Path, text: &str, compile: Compile) -> Result<(), RuleError> {
        let file: RuleFile = yaml_serde::from_str(text).map_err(|source| RuleError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        for lexicon in file.lexicons {
            let invalid = |problem: String| RuleError::Invalid {
                path: path.to_path_buf(),
                id: lexicon.name.clone(),
                problem,
            };
            validate_lexicon(&lexicon, compile).map_err(invalid)?;
            if let Some((_, first)) = self.lexicons.get(&lexicon.name) {
                return Err(invalid(format!(
                    "lexicon name already used in {}",
                    first.display()
                )));
            }
            self.lexicons
                .insert(lexicon.name.clone(), (lexicon, path.to_path_buf()));
        }
        for rule in file.rules {
            let invalid = |problem: String| RuleError::Invalid {
                path: path.to_path_buf(),
                id: rule.id.clone(),
                problem,
            };
            validate(&rule, compile).map_err(invalid)?;
            let signals = rule.pattern.iter().flat_map(|p| &p.signals);
            if let Some(name) = signals
                .filter_map(|s| s.lexicon.as_ref())
                .find(|name| !self.lexicons.contains_key(*name))
            {
                return Err(invalid(format!("no lexicon is named `{name}`")));
            }
            if let Some((_, first)) = self.rules.get(&rule.id) {
                return Err(invalid(format!(
                    "id already used by a rule in {}",
                    first.display()
                )));
            }
            self.rules
                .insert(rule.id.clone(), (rule, path.to_path_buf()));
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id).map(|(rule, _)| rule)
    }

    /// A finding of rule `id` about `server`, with the category, severity and confidence the
    /// rule's data gives it: the one place a code-raised finding gets them. `None` for an id no
    /// rule has (the built-in families' tests hold every id they raise to the data).
    pub fn finding(&self, id: &str, server: &str, message: String) -> Option<Finding> {
        let rule = self.get(id)?;
        Some(Finding::new(FindingSpec {
            rule_id: id,
            category: rule.category,
            severity: rule.severity,
            confidence: rule.confidence,
            server,
            message,
        }))
    }

    /// Rules in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values().map(|(rule, _)| rule)
    }

    /// Lexicons in name order.
    pub fn lexicons(&self) -> impl Iterator<Item = &Lexicon> {
        self.lexicons.values().map(|(lexicon, _)| lexicon)
    }

    pub fn source_of(&self, id: &str) -> Option<&Path> {
        self.rules.get(id).map(|(_, path)| path.as_path())
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Whether loading compiles a file's regexes to check them, or leaves that to their first use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Compile {
    Now,
    Later,
}

/// A lexicon is named in kebab-case, finds something, and says what it must find.
fn validate_lexicon(lexicon: &Lexicon, compile: Compile) -> Result<(), String> {
    if !is_kebab(&lexicon.name) {
        return Err(format!(
            "lexicon name `{}` must be kebab-case",
            lexicon.name
        ));
    }
    if lexicon.summary.trim().is_empty() {
        return Err("a lexicon needs a summary".to_string());
    }
    validate_group(&lexicon.literals, &lexicon.regex, compile)?;
    if lexicon.examples.must_match.is_empty() {
        return Err("a lexicon needs at least one `examples.match`".to_string());
    }
    Ok(())
}

fn is_kebab(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A group of alternatives finds something, and nothing that would match everywhere.
fn validate_group(literals: &[String], regexes: &[String], compile: Compile) -> Result<(), String> {
    if literals.is_empty() && regexes.is_empty() {
        return Err("a match group has neither literals nor regex".to_string());
    }
    if literals.iter().any(|l| l.trim().is_empty()) {
        return Err("an empty literal would match everything".to_string());
    }
    if compile == Compile::Now {
        for pattern in regexes {
            matcher::compile_regex(pattern)
                .map_err(|e| format!("regex `{pattern}` does not compile: {e}"))?;
        }
    }
    Ok(())
}

/// A detector's signals are named once each, and its threshold is positive and reachable.
fn validate_signals(spec: &MatchSpec) -> Result<(), String> {
    if spec.signals.is_empty() {
        return match spec.threshold {
            Some(_) => Err("`threshold` weighs `signals`, and there are none".to_string()),
            None => Ok(()),
        };
    }
    let Some(threshold) = spec.threshold.filter(|t| *t > 0) else {
        return Err("`signals` need a positive `threshold`".to_string());
    };
    let mut names: Vec<&str> = Vec::new();
    for signal in &spec.signals {
        if !is_kebab(&signal.name) || names.contains(&signal.name.as_str()) {
            return Err(format!(
                "signal `{}` must be kebab-case and named once",
                signal.name
            ));
        }
        if signal.weight == 0 {
            return Err(format!("signal `{}` weighs nothing", signal.name));
        }
        names.push(&signal.name);
    }
    let most: i32 = spec.signals.iter().map(|s| s.weight.max(0)).sum();
    if most < threshold {
        return Err(format!(
            "the signals weigh {most} at most, under the threshold {threshold}"
        ));
    }
    if spec.window.is_some() {
        return Err("`window` applies to `all` groups; signals are weighed by `scope`".to_string());
    }
    Ok(())
}

/// Checks that need no compilation: ids, names, matchers present and well formed.
fn validate(rule: &Rule, compile: Compile) -> Result<(), String> {
    let id_ok = rule.id.len() >= 4
        && rule.id.is_ascii()
        && rule
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !id_ok {
        return Err("id must be at least 4 ASCII letters, digits or dashes".to_string());
    }
    if !is_kebab(&rule.name) {
        return Err(format!("name `{}` must be kebab-case", rule.name));
    }
    if rule.summary.trim().is_empty() || rule.help.trim().is_empty() {
        return Err("summary and help must not be empty".to_string());
    }
    if let Some(spec) = &rule.pattern {
        if spec.all.is_empty() == spec.signals.is_empty() {
            return Err("`match` needs either `all` groups or `signals`, not both".to_string());
        }
        validate_signals(spec)?;
        for group in spec.groups() {
            validate_group(&group.literals, &group.regex, compile)?;
        }
        for signal in &spec.signals {
            // A signal may be its lexicon alone.
            if signal.lexicon.is_none() || !(signal.literals.is_empty() && signal.regex.is_empty())
            {
                validate_group(&signal.literals, &signal.regex, compile)?;
            }
        }
        if spec.window == Some(0) {
            return Err("`match.window` must be at least 1 word".to_string());
        }
    }
    if let Some(name) = &rule.check
        && !checks::is_known(name)
    {
        return Err(format!(
            "unknown check `{name}`; known checks: {}",
            checks::NAMES.join(", ")
        ));
    }
    // A named check has unit tests beside its code; a pattern has only its examples.
    if rule.pattern.is_some() && rule.examples.must_match.is_empty() {
        return Err("a rule with `match` needs at least one `examples.match`".to_string());
    }
    Ok(())
}
