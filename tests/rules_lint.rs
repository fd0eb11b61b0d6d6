//! Lints every built-in rule: its examples behave as written, its regexes compile under the
//! size limit, and ids are unique (loading fails otherwise).

use mcp_audit::capture::Capture;
use mcp_audit::rules::engine::Engine;
use mcp_audit::rules::matcher::{REGEX_SIZE_LIMIT, compile_regex};
use mcp_audit::rules::{Example, RuleSet};
use std::path::PathBuf;
use std::time::Instant;

fn fired(engine: &Engine, example: &Example) -> Vec<String> {
    let capture = Capture {
        server: "example".to_string(),
        source: PathBuf::from("example.json"),
        tools: vec![example.as_tool()],
        ..Capture::default()
    };
    engine
        .scan(&[capture])
        .into_iter()
        .map(|f| f.rule_id)
        .collect()
}

#[test]
fn every_example_behaves_as_written() {
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    let engine = Engine::new(&rules).expect("built-in rules compile");
    let mut failures = Vec::new();
    for rule in rules.iter() {
        for example in &rule.examples.must_match {
            if !fired(&engine, example).contains(&rule.id) {
                failures.push(format!("{} should match {:?}", rule.id, example));
            }
        }
        for example in &rule.examples.must_not_match {
            if fired(&engine, example).contains(&rule.id) {
                failures.push(format!("{} should not match {:?}", rule.id, example));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_regex_compiles_under_the_size_limit() {
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    let mut count = 0;
    // Built-in regexes compile when first used, so this is where a bad one is caught.
    let mut patterns: Vec<(&str, &String)> = Vec::new();
    for rule in rules.iter() {
        let Some(spec) = &rule.pattern else { continue };
        patterns.extend(spec.regexes().map(|p| (rule.id.as_str(), p)));
    }
    for lexicon in rules.lexicons() {
        patterns.extend(lexicon.regex.iter().map(|p| (lexicon.name.as_str(), p)));
    }
    for (id, pattern) in patterns {
        let started = Instant::now();
        let compiled = compile_regex(pattern);
        assert!(
            compiled.is_ok(),
            "{id}: `{pattern}` does not compile under {REGEX_SIZE_LIMIT} bytes: {:?}",
            compiled.err()
        );
        assert!(
            started.elapsed().as_secs() < 2,
            "{id}: `{pattern}` takes {:?} to compile",
            started.elapsed()
        );
        count += 1;
    }
    assert!(
        count > 500,
        "only {count} regexes found in the built-in rules"
    );
}

#[test]
fn every_rule_is_documented_and_ids_are_unique() {
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    assert!(rules.len() >= 20);
    for rule in rules.iter() {
        assert!(
            rule.help.to_lowercase().contains("fix"),
            "{} help says nothing of the fix",
            rule.id
        );
    }
    let mut twice = RuleSet::load(&[]).unwrap();
    let (path, text) = mcp_audit::rules::BUILTIN_RULE_FILES
        .iter()
        .find(|(path, _)| path.ends_with("poisoning.yaml"))
        .expect("the poisoning rules are built in");
    let error = twice
        .add_file(std::path::Path::new(path), text)
        .expect_err("loading the same rules twice must fail");
    assert!(error.to_string().contains("id already used"), "{error}");
}

/// A lexicon's examples run on it alone, through the matcher a detector would use.
#[test]
fn every_lexicon_finds_what_its_examples_say() {
    use mcp_audit::rules::matcher::Matcher;
    use mcp_audit::rules::normalize::normalize;
    use mcp_audit::rules::{Rule, RuleFile};
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    let lexicons: Vec<_> = rules.lexicons().collect();
    assert!(lexicons.len() >= 10, "only {} lexicons", lexicons.len());
    let mut failures = Vec::new();
    for lexicon in &lexicons {
        let yaml = format!(
            "rules:\n  - {{id: LEX1, name: probe, category: poisoning, severity: high, confidence: high, \
             summary: s, help: h, examples: {{match: [x]}},\n     match: {{threshold: 1, signals: \
             [{{name: probe, weight: 1, lexicon: {}}}]}}}}\n",
            lexicon.name
        );
        let file: RuleFile = yaml_serde::from_str(&yaml).expect("probe rule parses");
        let probe: Vec<&Rule> = file.rules.iter().collect();
        let matcher = Matcher::new(&probe, &[lexicon]).expect("lexicon compiles");
        let finds = |text: &str| !matcher.matches(&normalize(text)).is_empty();
        for text in &lexicon.examples.must_match {
            if !finds(text) {
                failures.push(format!("{} should find {text:?}", lexicon.name));
            }
        }
        for text in &lexicon.examples.must_not_match {
            if finds(text) {
                failures.push(format!("{} should not find {text:?}", lexicon.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every detector signal that names a lexicon names one that exists (loading checks it), and
/// every lexicon is weighed by some detector, so none is dead weight in the automaton.
#[test]
fn every_lexicon_is_weighed_by_a_detector() {
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    let named: Vec<&str> = rules
        .iter()
        .filter_map(|r| r.pattern.as_ref())
        .flat_map(|p| &p.signals)
        .filter_map(|s| s.lexicon.as_deref())
        .collect();
    for lexicon in rules.lexicons() {
        assert!(
            named.contains(&lexicon.name.as_str()),
            "lexicon {} is weighed by no detector",
            lexicon.name
        );
    }
}
