//! Validating a policy file: every problem, each with its line, not only the first. The document
//! is walked against the JSON Schema the model generates (so the format is said once), then read
//! into the model and its values checked (patterns compile, signers are whole, key files exist).

use super::model::{IdentityEntry, PolicyFile};
use super::pattern::Pattern;
use serde_json::Value;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One thing wrong with a policy file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Byte offsets to lines and columns, both 1-based.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    pub fn position(&self, offset: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let column = offset - self.starts[line - 1] + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }

    pub fn line(&self, offset: usize) -> u32 {
        self.position(offset).0
    }
}

/// The JSON Schema of the policy format, generated from the model.
pub fn schema() -> Value {
    schemars::schema_for!(PolicyFile).to_value()
}

/// The schema as committed in the repository: pretty JSON with a final newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// Read and check a policy's text. Key files named in it are looked for relative to `base`.
pub fn check(text: &str, base: &Path) -> Result<PolicyFile, Vec<Problem>> {
    let lines = Lines::new(text);
    let problem = |span: Option<Range<usize>>, message: String| {
        let (line, column) = span.map_or((1, 1), |s| lines.position(s.start));
        Problem {
            line,
            column,
            message,
        }
    };
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| problem(e.span(), e.message().trim().to_string()))
            .collect());
    }
    let schema = schema();
    let mut found = Vec::new();
    let root = Spanned::new(document.span(), DeValue::Table(document.get_ref().clone()));
    walk(&schema, &schema, &root, "", &mut found);
    // Tables keep their keys sorted, not in the file's order; problems read top to bottom.
    found.sort_by_key(|(span, _)| span.start);
    if !found.is_empty() {
        return Err(found
            .into_iter()
            .map(|(span, message)| problem(Some(span), message))
            .collect());
    }
    let file: PolicyFile = toml::from_str(text)
        .map_err(|e| vec![problem(e.span(), e.message().trim().to_string())])?;
    let images = SectionSpans::of(document.get_ref());
    let mut values = check_values(&file, &images, base);
    values.sort_by_key(|(span, _)| span.start);
    if values.is_empty() {
        Ok(file)
    } else {
        Err(values
            .into_iter()
            .map(|(span, message)| problem(Some(span), message))
            .collect())
    }
}

/// Follow `$ref`s and pick the non-null side of an `Option`.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap_or_default();
            match root.get("$defs").and_then(|d| d.get(name)) {
                Some(target) => schema = target,
                None => return schema,
            }
        } else if let Some(choices) = schema.get("anyOf").and_then(Value::as_array) {
            match choices
                .iter()
                .find(|c| c.get("type").and_then(Value::as_str) != Some("null"))
            {
                Some(choice) => schema = choice,
                None => return schema,
            }
        } else {
            return schema;
        }
    }
    schema
}

/// What a schema's `type` admits, without `null`.
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    }
}

fn kind(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "string",
        DeValue::Integer(_) => "integer",
        DeValue::Float(_) => "number",
        DeValue::Boolean(_) => "boolean",
        DeValue::Datetime(_) => "datetime",
        DeValue::Array(_) => "array",
        DeValue::Table(_) => "table",
    }
}

fn admits(wanted: &str, value: &DeValue<'_>) -> bool {
    matches!(
        (wanted, value),
        ("string", DeValue::String(_))
            | ("integer" | "number", DeValue::Integer(_))
            | ("number", DeValue::Float(_))
            | ("boolean", DeValue::Boolean(_))
            | ("array", DeValue::Array(_))
            | ("object", DeValue::Table(_))
    )
}

/// Where a value sits, as TOML writes it: `[perimeter.image]`, `scope[1].servers`.
fn shown_path(path: &str) -> String {
    if path.is_empty() {
        "the top level".to_string()
    } else {
        format!("`{path}`")
    }
}

fn walk(
    root: &Value,
    schema: &Value,
    value: &Spanned<DeValue<'_>>,
    path: &str,
    found: &mut Vec<(Range<usize>, String)>,
) {
    let schema = resolve(root, schema);
    let wanted = types(schema);
    if !wanted.is_empty() && !wanted.iter().any(|w| admits(w, value.get_ref())) {
        let wanted: Vec<&str> = wanted
            .iter()
            .map(|w| if *w == "object" { "table" } else { w })
            .collect();
        found.push((
            value.span(),
            format!(
                "{} must be {}, not {}",
                shown_path(path),
                wanted.join(" or "),
                kind(value.get_ref())
            ),
        ));
        return;
    }
    match value.get_ref() {
        DeValue::Table(table) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let known: Vec<&str> = properties
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            for (key, item) in table.iter() {
                let name = key.get_ref().as_ref();
                let inner = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                match properties.and_then(|p| p.get(name)) {
                    Some(property) => walk(root, property, item, &inner, found),
                    None => {
                        let mut message = format!("unknown key `{name}` in {}", shown_path(path));
                        match closest(name, &known) {
                            Some(near) => message.push_str(&format!("; did you mean `{near}`?")),
                            None if !known.is_empty() => {
                                message.push_str(&format!("; known keys: {}", known.join(", ")));
                            }
                            None => {}
                        }
                        found.push((key.span(), message));
                    }
                }
            }
            let required = schema.get("required").and_then(Value::as_array);
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                if !table.iter().any(|(key, _)| key.get_ref().as_ref() == name) {
                    found.push((
                        value.span(),
                        format!("{} needs the key `{name}`", shown_path(path)),
                    ));
                }
            }
        }
        DeValue::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    walk(root, item_schema, item, &format!("{path}[{index}]"), found);
                }
            }
        }
        DeValue::String(text) => {
            if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
                let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                if !names.contains(&text.as_ref()) {
                    let mut message = format!(
                        "{} cannot be `{text}`; it is one of {}",
                        shown_path(path),
                        names.join(", ")
                    );
                    if let Some(near) = closest(text, &names) {
                        message.push_str(&format!("; did you mean `{near}`?"));
                    }
                    found.push((value.span(), message));
                }
            }
        }
        DeValue::Integer(number) => {
            let minimum = schema.get("minimum").and_then(Value::as_i64);
            let parsed = i64::from_str_radix(&number.as_str().replace('_', ""), number.radix());
            if let (Some(minimum), Ok(parsed)) = (minimum, parsed)
                && parsed < minimum
            {
                found.push((
                    value.span(),
                    format!("{} must be at least {minimum}", shown_path(path)),
                ));
            }
        }
        _ => {}
    }
}

/// The known name nearest a misspelt one, when near enough to be what was meant.
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, k)| k)
}

/// The checks a schema cannot say: patterns compile, signers are whole, key files exist,
/// a denial selects something.
fn check_values(
    file: &PolicyFile,
    spans: &SectionSpans,
    base: &Path,
) -> Vec<(Range<usize>, String)> {
    let mut found = Vec::new();
    let whole = spans.images.clone();
    let pattern = |span: &Range<usize>, text: &str, found: &mut Vec<_>| {
        if let Err(problem) = Pattern::glob(text) {
            found.push((span.clone(), problem));
        }
    };
    let images = &file.images;
    identities(&images.identities, &whole, "images.identities", &mut found);
    keys(&images.keys, base, &whole, &mut found);
    for (index, rule) in images.rules.iter().enumerate() {
        let span = spans.rules.get(index).unwrap_or(&whole);
        if rule.server.is_none() && rule.image.is_none() {
            found.push((
                span.clone(),
                format!("images.rule[{index}] names neither a `server` nor an `image`"),
            ));
        }
        if let Some(image) = &rule.image {
            pattern(span, image, &mut found);
        }
        identities(
            rule.identities.as_deref().unwrap_or_default(),
            span,
            &format!("images.rule[{index}].identities"),
            &mut found,
        );
        keys(
            rule.keys.as_deref().unwrap_or_default(),
            base,
            span,
            &mut found,
        );
    }
    if let Some(perimeter) = &file.perimeter {
        let perimeter = perimeter.get_ref();
        for entry in &perimeter.images {
            let span = entry.span();
            let allow = entry.get_ref();
            pattern(&span, &allow.image, &mut found);
            for digest in &allow.digests {
                if !digest.starts_with("sha256:") && !digest.starts_with("sha512:") {
                    found.push((
                        span.clone(),
                        format!("`{digest}` is no digest; write `sha256:<hex>`"),
                    ));
                }
            }
            identities(
                allow.identities.as_deref().unwrap_or_default(),
                &span,
                "perimeter.image.identities",
                &mut found,
            );
            keys(
                allow.keys.as_deref().unwrap_or_default(),
                base,
                &span,
                &mut found,
            );
        }
        for entry in &perimeter.hosts {
            let span = entry.span();
            let allow = entry.get_ref();
            pattern(&span, &allow.command, &mut found);
            for text in allow.package.iter().chain(&allow.versions) {
                pattern(&span, text, &mut found);
            }
        }
        for entry in &perimeter.remotes {
            pattern(&entry.span(), &entry.get_ref().url, &mut found);
        }
        for entry in &perimeter.deny {
            let span = entry.span();
            let deny = entry.get_ref();
            let selectors = [&deny.server, &deny.image, &deny.package, &deny.url];
            if selectors.iter().all(|s| s.is_none()) {
                found.push((
                    span.clone(),
                    "a `[[perimeter.deny]]` needs a `server`, `image`, `package` or `url`"
                        .to_string(),
                ));
            }
            for text in selectors.into_iter().flatten() {
                pattern(&span, text, &mut found);
            }
        }
    }
    for entry in &file.scopes {
        let span = entry.span();
        let scope = entry.get_ref();
        if scope.configs.is_empty() {
            found.push((
                span.clone(),
                "a `[[scope]]` needs at least one pattern in `configs`".to_string(),
            ));
        }
        for text in &scope.configs {
            if let Err(problem) = Pattern::path(text) {
                found.push((span.clone(), problem));
            }
        }
        for text in scope.servers.iter().chain(&scope.images) {
            pattern(&span, text, &mut found);
        }
        for tool in &scope.deny_tools {
            pattern(&tool.span(), tool.get_ref(), &mut found);
        }
    }
    found
}

/// Where `[images]` and each `[[images.rule]]` are written, for problems with their values:
/// that section is read without spans, as the registry stage has always read it.
struct SectionSpans {
    images: Range<usize>,
    rules: Vec<Range<usize>>,
}

impl SectionSpans {
    fn of(document: &DeTable<'_>) -> SectionSpans {
        let images = document
            .iter()
            .find(|(key, _)| key.get_ref().as_ref() == "images")
            .map(|(_, value)| value);
        let rules = match images.map(Spanned::get_ref) {
            Some(DeValue::Table(table)) => table
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == "rule")
                .and_then(|(_, value)| match value.get_ref() {
                    DeValue::Array(items) => Some(items.iter().map(Spanned::span).collect()),
                    _ => None,
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        SectionSpans {
            images: images.map_or(0..0, Spanned::span),
            rules,
        }
    }
}

fn identities(
    entries: &[IdentityEntry],
    span: &Range<usize>,
    path: &str,
    found: &mut Vec<(Range<usize>, String)>,
) {
    for entry in entries {
        match (&entry.identity, &entry.identity_regexp) {
            (Some(_), None) => {}
            (None, Some(pattern)) => {
                if let Err(e) = regex::Regex::new(pattern) {
                    found.push((
                        span.clone(),
                        format!("`{path}`: identity_regexp `{pattern}` does not compile: {e}"),
                    ));
                }
            }
            _ => found.push((
                span.clone(),
                format!(
                    "`{path}`: an identity needs exactly one of `identity` and `identity_regexp`"
                ),
            )),
        }
    }
}

fn keys(
    paths: &[std::path::PathBuf],
    base: &Path,
    span: &Range<usize>,
    found: &mut Vec<(Range<usize>, String)>,
) {
    for path in paths {
        let full = if path.is_absolute() {
            path.clone()
        } else {
            base.join(path)
        };
        if !full.is_file() {
            found.push((
                span.clone(),
                format!(
                    "the key file `{}` does not exist (key paths are relative to the policy file)",
                    path.display()
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match check(text, Path::new(".")) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn every_unknown_key_is_reported_with_its_line_and_a_near_name() {
        let found = problems(
            "[images]\nrequire_signatures = true\n\n[perimeter]\nallow_hots = true\n\n[[scope]]\nconfigs = [\"a\"]\nmax_server = 2\nfrobnicate = 1\n",
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            found[0].starts_with("2:1: unknown key `require_signatures`"),
            "{found:?}"
        );
        assert!(found[0].contains("did you mean `require_signature`?"));
        assert!(
            found[1].starts_with("5:1:") && found[1].contains("`allow_host`"),
            "{found:?}"
        );
        assert!(
            found[2].starts_with("9:1:") && found[2].contains("`max_servers`"),
            "{found:?}"
        );
        assert!(
            found[3].starts_with("10:1:") && found[3].contains("known keys"),
            "{found:?}"
        );
    }

    #[test]
    fn types_enums_and_values_are_checked() {
        let found = problems(
            "[perimeter]\nallow_host = \"yes\"\n[[perimeter.remote]]\nurl = \"https://x/*\"\ntransports = [\"streamable_http\"]\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("2:14: `perimeter.allow_host` must be boolean"),
            "{found:?}"
        );
        assert!(
            found[1].contains("did you mean `streamable-http`?"),
            "{found:?}"
        );
        let found = problems("[[scope]]\nconfigs = [\"a\"]\ndeny_capabilities = [\"exe\"]\n");
        assert!(
            found[0].starts_with("3:22:") && found[0].contains("`exec`"),
            "{found:?}"
        );
        let found = problems("[[perimeter.deny]]\nreason = \"no\"\n");
        assert!(found[0].contains("needs a `server`"), "{found:?}");
        let found = problems("[[scope]]\nservers = [\"a\"]\n");
        assert!(found[0].contains("needs the key `configs`"), "{found:?}");
        let found = problems(
            "# signers\n[images]\nkeys = []\n\n[[images.rule]]\nrequire_signature = true\n",
        );
        assert!(
            found[0].starts_with("5:1:") && found[0].contains("neither"),
            "{found:?}"
        );
        let found = problems("[images\n");
        assert!(found[0].starts_with("1:"), "{found:?}");
    }

    #[test]
    fn a_valid_policy_has_no_problem() {
        let found = problems(
            "[perimeter]\nallow_host = true\n[[perimeter.image]]\nimage = \"ghcr.io/acme/*\"\nrequire_digest = true\n[[perimeter.host]]\ncommand = \"npx\"\npackage = \"@acme/*\"\nversions = [\"1.*\"]\n[[scope]]\nconfigs = [\"agents/**\"]\nmax_servers = 3\ndeny_capabilities = [\"exec\"]\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }
}
