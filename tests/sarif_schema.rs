//! The SARIF report validates against the official SARIF 2.1.0 schema (OASIS), formats
//! included, so GitHub code scanning accepts what `--format sarif` writes.

mod cli;

use cli::mcp_audit;
use jsonschema::{Draft, Validator};
use serde_json::Value;

/// The schema under its own draft (04), and again under draft 07: draft 04 knows no
/// `uri-reference` format, so only the second checks `artifactLocation.uri`. The schema uses
/// nothing whose meaning differs between the two drafts.
fn validators() -> [Validator; 2] {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/schemas/sarif-schema-2.1.0.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let declared = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let draft7 = jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    [declared, draft7]
}

fn sarif(captures: &[&str]) -> Value {
    let mut args = vec!["scan", "--format", "sarif"];
    for capture in captures {
        args.extend(["--tools", capture]);
    }
    let output = mcp_audit(&args);
    serde_json::from_slice(&output.stdout).unwrap()
}

fn problems(validators: &[Validator], sarif: &Value) -> Vec<String> {
    validators
        .iter()
        .flat_map(|validator| validator.iter_errors(sarif))
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let validators = validators();
    for captures in [
        &[
            "fixtures/report/poisoned-demo.json",
            "fixtures/report/clean-server.json",
        ][..],
        &["fixtures/report/clean-server.json"][..],
    ] {
        let log = sarif(captures);
        assert!(!log["runs"][0]["results"].is_null());
        let problems = problems(&validators, &log);
        assert!(problems.is_empty(), "{captures:?}: {problems:#?}");
    }
}

#[test]
fn the_schema_check_rejects_a_broken_log() {
    let validators = validators();
    let mut log = sarif(&["fixtures/report/poisoned-demo.json"]);
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!problems(&validators, &log).is_empty());
    let mut log = sarif(&["fixtures/report/poisoned-demo.json"]);
    log["runs"][0]["tool"]["driver"]["informationUri"] = "no scheme".into();
    assert!(!problems(&validators, &log).is_empty());
    let mut log = sarif(&["fixtures/report/poisoned-demo.json"]);
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "not a uri with spaces".into();
    assert!(!problems(&validators, &log).is_empty());
}
