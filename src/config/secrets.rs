//! Plaintext secrets in config values: the token formats of the big providers, high-entropy
//! values under secret-looking names, the placeholders that are neither, and redaction, so that no
//! report ever repeats a secret whole. It decides what is a secret, never how bad that is.
//!
//! The placeholder rule: a value is a placeholder, not a secret, when it is empty; refers to a
//! secret kept elsewhere (`${VAR}`, `$VAR`, `${input:id}`, `${{ secrets.X }}`, `{{x}}`, `%VAR%`,
//! `op://…`); is wrapped in `<…>` or `[…]`; carries a marker (`your`, `placeholder`, `replace`,
//! `changeme`, `insert`, `xxxx`, `...`, `***`); is one of a few well-known defaults (`password`,
//! `postgres`, …); or has fewer than four distinct characters after a token's prefix
//! (`ghp_xxxxxxxx…`). Anything else in a provider's token format is a secret, made-up ones
//! included (`ghp_FAKEFAKE…`, AWS's documented `…EXAMPLE` key): a scanner cannot tell them apart
//! from real ones, and neither can whoever finds them. A literal that is a secret only by its name
//! is also excused by words that mark an example (`example`, `sample`, `dummy`, `fake`).

use regex::Regex;
use std::sync::LazyLock;

/// A token in a provider's format, found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is: "GitHub token", "AWS access key", …
    pub kind: &'static str,
    /// Byte range of the token in the value.
    pub start: usize,
    pub end: usize,
}

/// Token formats, most specific first: an Anthropic key also starts with `sk-`.
const FORMATS: &[(&str, &str)] = &[
    // The whole block, to its END line or the end of the value, so redaction hides the body.
    (
        "private key",
        r"(?s)-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)",
    ),
    (
        "GitHub token",
        r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b",
    ),
    (
        "GitHub fine-grained token",
        r"\bgithub_pat_[A-Za-z0-9_]{50,255}\b",
    ),
    (
        "GitLab token",
        r"\b(?:glpat|gldt|glrt|glptt|glft|glsoat|glcbt)-[A-Za-z0-9_\-]{20,}",
    ),
    ("Slack token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("Slack app token", r"\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]{20,}"),
    (
        "Slack webhook",
        r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_\-]{20,}",
    ),
    ("AWS access key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    ("Google API key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("Google OAuth client secret", r"\bGOCSPX-[A-Za-z0-9_\-]{28}"),
    ("Google OAuth token", r"\bya29\.[0-9A-Za-z_\-]{20,}"),
    (
        "Anthropic API key",
        r"\bsk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_\-]{20,}",
    ),
    (
        "OpenAI API key",
        r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}",
    ),
    (
        "OpenAI API key",
        r"\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b",
    ),
    ("OpenAI API key", r"\bsk-[A-Za-z0-9]{48}\b"),
    (
        "Stripe secret key",
        r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}",
    ),
    ("Stripe webhook secret", r"\bwhsec_[A-Za-z0-9]{24,}"),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("Hugging Face token", r"\bhf_[A-Za-z]{34}\b"),
    (
        "SendGrid API key",
        r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}",
    ),
    (
        "password in a URL",
        r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]+:([^/\s@]+)@",
    ),
    // An HTTP credential wherever it is written: a header value, a `--header` argument, a script.
    (
        "bearer credential",
        r"(?i)\b(?:bearer|basic|token)[ \t]+([A-Za-z0-9._~+/\-]{12,}=*)",
    ),
];

static FORMAT_REGEXES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    FORMATS
        .iter()
        .map(|(kind, pattern)| (*kind, Regex::new(pattern).expect("a constant pattern")))
        .collect()
});

/// The first token in a provider's format in `value` that is not a placeholder.
pub fn find_token(value: &str) -> Option<Token> {
    all_tokens(value).into_iter().next()
}

/// Every token in `value`, in one pass of each format: a match that overlaps one already taken
/// (a more specific format's) is looked up among the taken ones in logarithmic time, so a value
/// with a million matches costs a million look-ups, not a million squared.
fn all_tokens(value: &str) -> Vec<Token> {
    let mut taken = Taken::default();
    let mut found: Vec<Token> = Vec::new();
    for (kind, regex) in FORMAT_REGEXES.iter() {
        for captures in regex.captures_iter(value) {
            let Some(whole) = captures.get(0) else {
                continue;
            };
            // For a URL or a header, the secret is the credential, not its prefix.
            let secret = captures.get(1).unwrap_or(whole);
            if *kind != "private key" && is_placeholder(secret.as_str()) {
                continue;
            }
            // An HTTP scheme word is also prose ("Bearer authentication"): a credential has digits.
            if *kind == "bearer credential"
                && !secret.as_str().contains(|c: char| c.is_ascii_digit())
            {
                continue;
            }
            if !taken.take(whole.start(), whole.end()) {
                continue;
            }
            found.push(Token {
                kind,
                start: secret.start(),
                end: secret.end(),
            });
        }
    }
    found.sort_by_key(|t| t.start);
    found
}

/// Byte ranges already claimed, none overlapping another: sorted by start they are sorted by end
/// too, so a new range overlaps one of them exactly when it overlaps the last that starts before
/// it ends.
#[derive(Default)]
struct Taken(std::collections::BTreeMap<usize, usize>);

impl Taken {
    /// Claim `start..end` unless it overlaps a range already claimed.
    fn take(&mut self, start: usize, end: usize) -> bool {
        let overlaps = self
            .0
            .range(..end.max(start + 1))
            .next_back()
            .is_some_and(|(_, taken_end)| *taken_end > start);
        if !overlaps {
            self.0.insert(start, end);
        }
        !overlaps
    }
}

/// Markers no real token carries: a value with one is a placeholder, whatever its format.
const MARKERS: &[&str] = &[
    "your",
    "placeholder",
    "replace",
    "changeme",
    "change_me",
    "change-me",
    "insert",
    "xxxx",
    "...",
    "***",
    "<",
    ">",
    // What redaction leaves: redacting a text twice changes nothing.
    "[redacted",
];

/// Words that make a literal under a secret's name an example. They do not excuse a value in a
/// provider's format, which is reported whatever it says.
const EXAMPLE_WORDS: &[&str] = &["example", "sample", "dummy", "fake", "redacted", "todo"];

/// A credential whose format is only recognisable with its name: an AWS secret access key is 40
/// characters of base64 under a name such as `AWS_SECRET_ACCESS_KEY`.
pub fn find_named_token(name: &str, value: &str) -> Option<&'static str> {
    let words = name_words(name);
    let aws_secret = words.iter().any(|w| w == "aws") && words.iter().any(|w| w == "secret");
    let value = value.trim();
    let shaped = value.len() == 40
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '+' | '='));
    (aws_secret && shaped && !is_placeholder(value)).then_some("AWS secret access key")
}

/// Whole values that are well-known defaults, not secrets worth the name.
const DEFAULTS: &[&str] = &[
    "password", "passwd", "secret", "changeme", "admin", "root", "postgres", "mysql", "test",
    "token", "apikey", "api_key", "none", "null", "true", "false", "guest",
];

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{|\$\(|\{\{|^\$[A-Za-z_][A-Za-z0-9_]*$|%[A-Za-z_][A-Za-z0-9_]*%|^op://|^\{[A-Za-z_][A-Za-z0-9_]*\}$")
        .expect("a constant pattern")
});

/// Whether a value is a placeholder, a reference or a default rather than a secret (see the
/// module documentation for the rule).
pub fn is_placeholder(value: &str) -> bool {
    let trimmed = value.trim();
    if trimmed.is_empty() || REFERENCE.is_match(trimmed) {
        return true;
    }
    let wrapped = (trimmed.starts_with('<') && trimmed.ends_with('>'))
        || (trimmed.starts_with('[') && trimmed.ends_with(']'));
    let lower = trimmed.to_ascii_lowercase();
    if wrapped || MARKERS.iter().any(|m| lower.contains(m)) || DEFAULTS.contains(&lower.as_str()) {
        return true;
    }
    distinct_chars(token_body(trimmed)) < 4
}

/// A token without its provider prefix (`ghp_`, `sk-proj-`, `xoxb-`), so `ghp_xxxx…` reads as
/// one repeated character.
fn token_body(value: &str) -> &str {
    let prefix_end = value
        .char_indices()
        .take(14)
        .filter(|(_, c)| *c == '_' || *c == '-')
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0);
    &value[prefix_end.min(value.len())..]
}

fn distinct_chars(text: &str) -> usize {
    let mut seen: Vec<char> = text.chars().collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// Shannon entropy in bits per character.
pub fn entropy(text: &str) -> f64 {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return 0.0;
    }
    let mut counts: std::collections::HashMap<char, usize> = std::collections::HashMap::new();
    for c in &chars {
        *counts.entry(*c).or_default() += 1;
    }
    let total = chars.len() as f64;
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Last words of a name that make it a secret's name.
const SECRET_WORDS: &[&str] = &[
    "token",
    "tokens",
    "secret",
    "secrets",
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "credential",
    "credentials",
    "pat",
    "authorization",
    "cookie",
    "bearer",
    "auth",
];

/// Words before `key` that make `…_KEY` a secret's name.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "auth",
    "signing",
    "encryption",
    "master",
    "client",
    "app",
    "service",
    "account",
    "license",
    "admin",
    "session",
    "ssh",
    "subscription",
    "deploy",
    "webhook",
    "shared",
    "search",
    "x",
];

/// Whether a variable, header or flag name says its value is a secret: `GITHUB_TOKEN`,
/// `OPENAI_API_KEY`, `apiKey`, `X-API-Key`, `Authorization`, `--password`. Names ending in a
/// word that describes the secret rather than holding it (`TOKEN_URL`, `API_KEY_FILE`) are not.
pub fn is_secret_name(name: &str) -> bool {
    let words = name_words(name);
    let Some(last) = words.last() else {
        return false;
    };
    if SECRET_WORDS.contains(&last.as_str()) {
        return true;
    }
    if last == "key" || last == "keys" {
        return words.len() >= 2 && KEY_QUALIFIERS.contains(&words[words.len() - 2].as_str());
    }
    false
}

/// Split `OPENAI_API_KEY`, `apiKey`, `X-Api-Key`, `--auth-token` into lower-case words.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Whether a literal under a secret's name is itself a secret: not a placeholder, a path or a
/// URL, and long and varied enough to be a credential rather than a setting. A password needs
/// less: any literal of eight characters or more.
pub fn is_secret_value(name: &str, value: &str) -> bool {
    let value = strip_scheme(value.trim());
    if is_placeholder(value) || value.contains(char::is_whitespace) || value.contains("://") {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if EXAMPLE_WORDS.iter().any(|w| lower.contains(w)) {
        return false;
    }
    if value.starts_with(['/', '~', '.']) || value.contains('\\') {
        return false;
    }
    let words = name_words(name);
    let password = words.last().is_some_and(|w| {
        matches!(
            w.as_str(),
            "password" | "passwd" | "pwd" | "pass" | "passphrase"
        )
    });
    if password {
        return value.chars().count() >= 8;
    }
    let classes = [
        value.chars().any(|c| c.is_ascii_lowercase()),
        value.chars().any(|c| c.is_ascii_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    value.chars().count() >= 16 && entropy(value) >= 3.0 && classes >= 2
}

/// `Bearer abc` → `abc`: the credential, not its scheme.
fn strip_scheme(value: &str) -> &str {
    for scheme in ["Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token "] {
        if let Some(rest) = value.strip_prefix(scheme) {
            return rest.trim();
        }
    }
    value
}

/// A secret as reports may show it: its first four characters when it is long enough that they
/// give nothing away (they are usually the provider's prefix), then its length.
pub fn redact(secret: &str) -> String {
    let count = secret.chars().count();
    if secret.starts_with("-----BEGIN") {
        let header: String = secret
            .split("-----")
            .take(2)
            .collect::<Vec<_>>()
            .join("-----");
        return format!("{header}-----…[redacted]");
    }
    if count >= 12 {
        let shown: String = secret.chars().take(4).collect();
        format!("{shown}…[redacted, {count} chars]")
    } else {
        format!("[redacted, {count} chars]")
    }
}

/// A value with every secret in it redacted: tokens in a provider's format, passwords in URLs,
/// and `name=value` pairs under a secret's name (`--api-key=…`, `?token=…`).
pub fn redact_text(text: &str) -> String {
    let tokens = all_tokens(text);
    let mut taken = Taken::default();
    for token in &tokens {
        taken.take(token.start, token.end);
    }
    for pair in NAME_VALUE.captures_iter(text) {
        if let (Some(name), Some(value)) = (pair.get(1), pair.get(2))
            && is_secret_name(name.as_str())
            && !is_placeholder(value.as_str())
        {
            taken.take(value.start(), value.end());
        }
    }
    let mut out = String::new();
    let mut at = 0;
    for (&start, &end) in &taken.0 {
        out.push_str(&text[at..start]);
        out.push_str(&redact(&text[start..end]));
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

static NAME_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z][A-Za-z0-9_.\-]*)=([^\s&;,"']+)"#).expect("a constant pattern")
});

/// Command-line arguments with secrets redacted, including a secret flag's separate value
/// (`--api-key VALUE`).
pub fn redact_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut hide_next = false;
    for arg in args {
        if hide_next && !is_placeholder(arg) {
            out.push(redact(arg));
        } else {
            out.push(redact_text(arg));
        }
        hide_next = secret_flag(arg).is_some();
    }
    out
}

/// The name of a flag that takes a secret as its next argument: `--api-key`, `--token`.
pub fn secret_flag(arg: &str) -> Option<&str> {
    let name = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    (!name.contains('=') && is_secret_name(name)).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made-up tokens in each provider's format: none of them was ever issued.
    const GITHUB: &str = "ghp_0123456789abcdefghijABCDEFGHIJklmnop";
    const OPENAI: &str = "sk-proj-Q2x7Lm9Pz4Rt8Vw1Ks6Hd3Jf5Ng0Bc-Ya7Ue2Io9";
    const ANTHROPIC: &str = "sk-ant-api03-Zq4Xw8Er2Ty6Ui0Op3As7Df1Gh5Jk9Lz-Mx2Cv6Bn0";

    #[test]
    fn recognises_the_big_providers_formats() {
        let cases = [
            (GITHUB, "GitHub token"),
            (
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV0123",
                "GitHub fine-grained token",
            ),
            ("glpat-9Xk2Lm4Np6Qr8St0Uv1W", "GitLab token"),
            ("xoxb-2048193-7730112-Rk4Tq8Vm2Xp6Zs0Yb3Nc", "Slack token"),
            ("AKIA4ZQ7N2X9LM3K8PTV", "AWS access key"),
            ("AIzaSyD7x9Qk2Lm4Np6Rt8Vw0Yb3Zc5Ef7Gh9Jk", "Google API key"),
            (OPENAI, "OpenAI API key"),
            (ANTHROPIC, "Anthropic API key"),
            ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "Stripe secret key"),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----",
                "private key",
            ),
            (
                "postgresql://app:Vt9!kQ2zLm@db.internal:5432/app",
                "password in a URL",
            ),
        ];
        for (value, kind) in cases {
            let token = find_token(value).unwrap_or_else(|| panic!("{value} not found"));
            assert_eq!(token.kind, kind, "{value}");
        }
    }

    #[test]
    fn finds_tokens_inside_longer_values() {
        let header = format!("Bearer {ANTHROPIC}");
        let token = find_token(&header).unwrap();
        assert_eq!(&header[token.start..token.end], ANTHROPIC);
        let arg = format!("--token={GITHUB}");
        assert_eq!(find_token(&arg).unwrap().kind, "GitHub token");
    }

    #[test]
    fn placeholders_are_not_secrets() {
        for value in [
            "",
            "<YOUR_API_KEY>",
            "YOUR_TOKEN_HERE",
            "${GITHUB_TOKEN}",
            "${input:github_token}",
            "${env:OPENAI_API_KEY}",
            "${{ secrets.ANTHROPIC_API_KEY }}",
            "$BRAVE_API_KEY",
            "{{github.personal_access_token}}",
            "%API_KEY%",
            "op://Engineering/GitHub/token",
            "[your key]",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "sk-proj-REPLACE_ME_WITH_YOUR_OWN_KEY_0000",
            "changeme",
            "postgres",
        ] {
            assert!(is_placeholder(value), "{value:?}");
            assert!(find_token(value).is_none(), "{value:?}");
        }
        assert!(find_token("postgresql://postgres:postgres@localhost/app").is_none());
        assert!(find_token("postgresql://user:${DB_PASSWORD}@localhost/app").is_none());
    }

    #[test]
    fn made_up_tokens_in_a_providers_format_are_still_secrets() {
        for value in [
            "ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE",
            "AKIAIOSFODNN7EXAMPLE",
            "sk-proj-TESTtestTESTtest1234567890abcd",
        ] {
            assert!(find_token(value).is_some(), "{value}");
        }
        // Under a secret's name alone, an example word does excuse a literal.
        assert!(!is_secret_value("API_KEY", "example-key-0123456789abcdef"));
    }

    #[test]
    fn aws_secret_keys_are_known_by_name_and_shape() {
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            find_named_token("AWS_SECRET_ACCESS_KEY", key),
            Some("AWS secret access key")
        );
        assert_eq!(
            find_named_token("aws_secret_access_key", key),
            Some("AWS secret access key")
        );
        assert_eq!(
            find_named_token("AWS_SECRET_ACCESS_KEY", "${AWS_SECRET_ACCESS_KEY}"),
            None
        );
        assert_eq!(find_named_token("AWS_REGION", key), None);
        assert_eq!(find_named_token("AWS_SECRET_ACCESS_KEY", "short"), None);
    }

    #[test]
    fn secret_names() {
        for name in [
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "OPENAI_API_KEY",
            "apiKey",
            "X-API-Key",
            "Authorization",
            "DB_PASSWORD",
            "client_secret",
            "AWS_SECRET_ACCESS_KEY",
            "--auth-token",
            "SLACK_BOT_TOKEN",
            "BRAVE_API_KEY",
            "Private-Token",
            "accessToken",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "TOKEN_URL",
            "API_KEY_FILE",
            "GITHUB_HOST",
            "LOG_LEVEL",
            "CLIENT_ID",
            "PUBLIC_KEY",
            "AUTH_TYPE",
            "PRIMARY_KEY",
            "X-Region",
            "keyboard",
            "passthrough",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn high_entropy_literals_under_secret_names_are_secrets() {
        assert!(is_secret_value(
            "INTERNAL_API_KEY",
            "f3a9c07d2b8e4d15a6c9e0b7d4f21a8c"
        ));
        assert!(is_secret_value(
            "Authorization",
            "Bearer 9fK2mQ7xLp4Rz8Wv1Ns6Td3Yb"
        ));
        assert!(is_secret_value("DB_PASSWORD", "hunter2hunter2"));
        assert!(!is_secret_value("DB_PASSWORD", "short"));
        assert!(!is_secret_value("API_KEY", "${API_KEY}"));
        assert!(!is_secret_value("API_KEY", "development"));
        assert!(!is_secret_value("TOKEN", "/run/secrets/token"));
        assert!(!is_secret_value("TOKEN", "https://auth.example.com/token"));
    }

    #[test]
    fn redaction_never_shows_a_secret_whole() {
        assert_eq!(redact(GITHUB), "ghp_…[redacted, 40 chars]");
        assert_eq!(redact("hunter2"), "[redacted, 7 chars]");
        let key =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
        assert_eq!(redact(key), "-----BEGIN RSA PRIVATE KEY-----…[redacted]");
        let value = format!("{key}\n");
        assert_eq!(
            redact_text(&value),
            "-----BEGIN RSA PRIVATE KEY-----…[redacted]\n"
        );
        let cut = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
        assert!(!redact_text(cut).contains("MIIEvQ"), "{}", redact_text(cut));
        let text = format!("run -e TOKEN={GITHUB} --api-key=f3a9c07d2b8e4d15a6c9e0b7d4f21a8c x");
        let shown = redact_text(&text);
        assert!(!shown.contains(&GITHUB[4..]), "{shown}");
        assert!(!shown.contains("f3a9c07d2b8e"), "{shown}");
        assert!(shown.starts_with("run -e TOKEN=ghp_…"), "{shown}");
        let url =
            redact_text("https://mcp.example.com/sse?api_key=f3a9c07d2b8e4d15a6c9e0b7&region=eu");
        assert_eq!(
            url,
            "https://mcp.example.com/sse?api_key=f3a9…[redacted, 24 chars]&region=eu"
        );
        let args = redact_args(["--api-key", "f3a9c07d2b8e4d15a6c9e0b7", "--port", "8080"]);
        assert_eq!(
            args,
            vec!["--api-key", "f3a9…[redacted, 24 chars]", "--port", "8080"]
        );
    }

    #[test]
    fn credentials_in_git_urls_and_http_headers() {
        let token = "Zq4Xw8Er2Ty6Ui0Op3As7Df1";
        for value in [
            format!("git+https://oauth2:{token}@gitlab.example.com/team/server.git"),
            format!("git+https://x-access-token:{token}@github.com/acme/server"),
            format!("Authorization: Bearer {token}"),
            format!("Authorization: Basic {token}=="),
        ] {
            let found = find_token(&value).unwrap_or_else(|| panic!("{value} not found"));
            assert!(value[found.start..found.end].starts_with(token), "{value}");
            assert!(!redact_text(&value).contains(&token[4..]), "{value}");
        }
        assert_eq!(
            find_token(&format!("Bearer {token}")).map(|t| t.kind),
            Some("bearer credential")
        );
        for prose in [
            "Send it with Bearer authentication, as documented",
            "Authorization: Bearer ${GITHUB_TOKEN}",
            "Authorization: Bearer <YOUR_TOKEN_HERE>",
        ] {
            assert!(find_token(prose).is_none(), "{prose}");
        }
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        let text =
            format!("--header Authorization: Bearer 9fK2mQ7xLp4Rz8Wv1Ns6Td3Yb TOKEN={GITHUB}");
        let once = redact_text(&text);
        assert_eq!(redact_text(&once), once);
    }

    #[test]
    fn a_value_with_many_tokens_is_read_in_one_pass() {
        // Each match used to be compared with every one before it: this took minutes in a debug
        // build, and 15 MB three in a release one. One pass takes seconds here, under a second
        // in release.
        let value = format!("{GITHUB} ").repeat(100_000);
        let started = std::time::Instant::now();
        assert_eq!(all_tokens(&value).len(), 100_000);
        assert!(!redact_text(&value).contains(&GITHUB[4..]));
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn entropy_measures_variety() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    }
}
