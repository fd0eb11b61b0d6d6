//! The policy, `mcp-audit.toml`: found once per run, checked, and read into what the stages
//! need: each image's signature requirement (merged with `--key` and identity flags) for the
//! registry stage, and the perimeter and scopes that `enforce` holds servers to. It verifies
//! nothing itself.

pub mod check;
pub mod enforce;
pub mod init;
pub mod model;
pub mod pattern;

use crate::finding::visible_whole;
use crate::registry::trust::{
    IdentityPattern, KeylessIdentity, TrustError, TrustRequirement, TrustedKey,
};
use check::{Lines, Problem};
use model::{IdentityEntry, PolicyFile};
use pattern::Pattern;
use std::path::{Path, PathBuf};

/// The policy file's name, looked for beside the configs scanned.
pub const POLICY_FILE_NAME: &str = "mcp-audit.toml";

/// The path and what the file holds are shown with control characters made visible; the only
/// line breaks are those between problems.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the policy {}: {source}", visible_whole(path))]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the policy {} is not valid: {}",
        visible_whole(path),
        visible_whole(message)
    )]
    Parse { path: String, message: String },
    #[error("the policy {} is not valid:{}", visible_whole(path), problems.iter().map(|p| format!("\n  {}", visible_whole(&format!("{path}:{p}")))).collect::<String>())]
    Invalid {
        path: String,
        problems: Vec<Problem>,
    },
    #[error("the policy {}: {source}", visible_whole(path))]
    Trust { path: String, source: TrustError },
}

/// A policy file, found, checked and read: the model with every rule's span, and what turns a
/// span into a line.
#[derive(Debug)]
pub struct PolicyDocument {
    /// The path as messages and findings show it.
    pub shown: String,
    /// The directory key paths are relative to.
    pub base: PathBuf,
    pub file: PolicyFile,
    lines: Lines,
}

impl PolicyDocument {
    /// Read and check a policy file; every problem is reported, each with its line.
    pub fn load(path: &Path) -> Result<PolicyDocument, PolicyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: shown.clone(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        PolicyDocument::parse(&text, &shown, base)
    }

    pub fn parse(text: &str, shown: &str, base: &Path) -> Result<PolicyDocument, PolicyError> {
        let file = check::check(text, base).map_err(|problems| PolicyError::Invalid {
            path: shown.to_string(),
            problems,
        })?;
        Ok(PolicyDocument {
            shown: shown.to_string(),
            base: base.to_path_buf(),
            file,
            lines: Lines::new(text),
        })
    }

    /// The line a span starts on.
    pub fn line(&self, span: &std::ops::Range<usize>) -> u32 {
        self.lines.line(span.start)
    }
}

/// Where the policy is: `explicit` (`--policy`), else `mcp-audit.toml` at the root of the
/// repository holding the first of `dirs` (the nearest ancestor with a `.git`; outside a
/// repository, that directory itself). Only when the root has none, the first of `dirs` (the
/// configs' directories, then directories scanned) that has one: a policy only ever restricts,
/// so with none at the root any one found narrows what would otherwise run unchecked.
pub fn discover(explicit: Option<&Path>, dirs: &[PathBuf]) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let start = std::fs::canonicalize(dirs.first()?).ok()?;
    let root = start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(&start);
    let path = root.join(POLICY_FILE_NAME);
    if path.is_file() {
        return Some(shorten(&path));
    }
    dirs.iter()
        .map(|dir| dir.join(POLICY_FILE_NAME))
        .find(|path| path.is_file())
}

/// The `mcp-audit.toml` files beside the configs or in the directories scanned (`dirs`) that
/// are not `governing`: a pull request can add one next to a config, so none is applied, and
/// each is reported.
pub fn ignored(governing: &Path, dirs: &[PathBuf]) -> Vec<PathBuf> {
    let governing = std::fs::canonicalize(governing).ok();
    let mut seen = Vec::new();
    let mut ignored = Vec::new();
    for path in dirs.iter().map(|dir| dir.join(POLICY_FILE_NAME)) {
        let Ok(canonical) = std::fs::canonicalize(&path) else {
            continue;
        };
        if path.is_file() && Some(&canonical) != governing.as_ref() && !seen.contains(&canonical) {
            seen.push(canonical);
            ignored.push(path);
        }
    }
    ignored
}

/// A path under the current directory as a relative one, as reports show config paths.
fn shorten(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// Requirements, resolved: key files read and patterns compiled.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    default: TrustRequirement,
    rules: Vec<ImageRule>,
    /// The file it was read from, if any.
    pub source: Option<String>,
}

#[derive(Debug, Clone)]
struct ImageRule {
    server: Option<String>,
    image: Option<Pattern>,
    requirement: TrustRequirement,
}

impl Policy {
    /// The policy of the command line alone: the flags' keys and identities for every image,
    /// a signature required as soon as one is given.
    pub fn from_flags(keys: Vec<TrustedKey>, identities: Vec<KeylessIdentity>) -> Policy {
        let required = !keys.is_empty() || !identities.is_empty();
        Policy {
            default: TrustRequirement {
                required,
                keys,
                identities,
            },
            rules: Vec::new(),
            source: None,
        }
    }

    /// Read a policy file; the flags' keys and identities are added to every requirement in it.
    /// Key paths are relative to the file.
    pub fn load(path: &Path, flags: &Policy) -> Result<Policy, PolicyError> {
        Policy::from_document(&PolicyDocument::load(path)?, flags)
    }

    pub fn parse(
        text: &str,
        shown: &str,
        base: &Path,
        flags: &Policy,
    ) -> Result<Policy, PolicyError> {
        Policy::from_document(&PolicyDocument::parse(text, shown, base)?, flags)
    }

    /// The signature requirements a checked policy states: `[images]`, then each
    /// `[[images.rule]]`, then each `[[perimeter.image]]` that names signers.
    pub fn from_document(document: &PolicyDocument, flags: &Policy) -> Result<Policy, PolicyError> {
        let shown = &document.shown;
        let base = document.base.as_path();
        let trust = |source| PolicyError::Trust {
            path: shown.to_string(),
            source,
        };
        let pattern = |text: &str| {
            Pattern::glob(text).map_err(|problem| {
                trust(TrustError::Pattern {
                    pattern: text.to_string(),
                    problem,
                })
            })
        };
        let section = &document.file.images;
        let keys = read_keys(&section.keys, base).map_err(trust)?;
        let identities = identities(&section.identities).map_err(trust)?;
        let default = requirement(section.require_signature, keys, identities, &flags.default);
        let mut rules = Vec::new();
        for rule in &section.rules {
            let keys = match &rule.keys {
                Some(keys) => read_keys(keys, base).map_err(trust)?,
                None => default.keys.clone(),
            };
            let identities = match &rule.identities {
                Some(entries) => self::identities(entries).map_err(trust)?,
                None => default.identities.clone(),
            };
            // A rule says all it requires: unsaid, a signature is required when it names signers
            // (its own or the default's), whatever `[images]` says for other images.
            rules.push(ImageRule {
                server: rule.server.clone(),
                image: rule.image.as_deref().map(pattern).transpose()?,
                requirement: requirement(rule.require_signature, keys, identities, &flags.default),
            });
        }
        // The perimeter's signers are required of the images they admit: the registry stage
        // verifies them, and `enforce` reports the rule that asked.
        let perimeter = document.file.perimeter.as_ref().map(|p| p.get_ref());
        for entry in perimeter.map_or(&[][..], |p| &p.images[..]) {
            let allow = entry.get_ref();
            if allow.keys.is_none() && allow.identities.is_none() {
                continue;
            }
            let keys = read_keys(allow.keys.as_deref().unwrap_or_default(), base).map_err(trust)?;
            let identities =
                self::identities(allow.identities.as_deref().unwrap_or_default()).map_err(trust)?;
            rules.push(ImageRule {
                server: None,
                image: Some(pattern(&allow.image)?),
                requirement: requirement(Some(true), keys, identities, &flags.default),
            });
        }
        Ok(Policy {
            default,
            rules,
            source: Some(shown.to_string()),
        })
    }

    /// What `image` of `server` must show: the first rule naming it, else the default.
    pub fn requirement(&self, server: &str, image: &str) -> TrustRequirement {
        self.rules
            .iter()
            .find(|rule| {
                rule.server.as_deref().is_none_or(|s| s == server)
                    && rule
                        .image
                        .as_ref()
                        .is_none_or(|pattern| pattern.matches_image(image))
            })
            .map_or_else(|| self.default.clone(), |rule| rule.requirement.clone())
    }
}

/// A requirement from a file's values and the flags: keys and identities together; a
/// signature required when the file says so, or, unsaid, when any signer is named.
fn requirement(
    required: Option<bool>,
    mut keys: Vec<TrustedKey>,
    mut identities: Vec<KeylessIdentity>,
    flags: &TrustRequirement,
) -> TrustRequirement {
    keys.extend(flags.keys.iter().cloned());
    identities.extend(flags.identities.iter().cloned());
    let named = !keys.is_empty() || !identities.is_empty();
    TrustRequirement {
        required: flags.required || required.unwrap_or(named),
        keys,
        identities,
    }
}

fn read_keys(paths: &[PathBuf], base: &Path) -> Result<Vec<TrustedKey>, TrustError> {
    paths
        .iter()
        .map(|path| {
            let path = if path.is_absolute() {
                path.clone()
            } else {
                base.join(path)
            };
            TrustedKey::from_file(&path)
        })
        .collect()
}

fn identities(entries: &[IdentityEntry]) -> Result<Vec<KeylessIdentity>, TrustError> {
    entries
        .iter()
        .map(|entry| {
            let identity = match (&entry.identity, &entry.identity_regexp) {
                (Some(exact), None) => IdentityPattern::Exact(exact.clone()),
                (None, Some(pattern)) => IdentityPattern::regex(pattern)?,
                _ => {
                    return Err(TrustError::Pattern {
                        pattern: entry.issuer.clone(),
                        problem:
                            "an identity needs exactly one of `identity` and `identity_regexp`"
                                .to_string(),
                    });
                }
            };
            Ok(KeylessIdentity {
                identity,
                issuer: entry.issuer.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, "mcp-audit.toml", Path::new("."), &Policy::default())
    }

    #[test]
    fn errors_show_paths_and_keys_with_control_characters_made_visible() {
        for text in ["x = [", "\"evil\\u001b[2J\\nok\" = 1\n"] {
            let error = Policy::parse(text, "p\u{1b}[2J.toml", Path::new("."), &Policy::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains("p<U+001B>[2J.toml"), "{error}");
            let escapes = error.chars().filter(|c| c.is_control() && *c != '\n');
            assert_eq!(escapes.count(), 0, "{error:?}");
            assert!(!error.contains("\nok"), "{error:?}");
        }
    }

    #[test]
    fn rules_pick_images_by_server_or_pattern() {
        let policy = parse(
            r#"
            [images]
            require_signature = false

            [[images.rule]]
            image = "ghcr.io/acme/*"
            require_signature = true
            identities = [{ identity_regexp = "https://github.com/acme/.*", issuer = "https://token.actions.githubusercontent.com" }]

            [[images.rule]]
            server = "legacy"
            require_signature = false
            "#,
        )
        .unwrap();
        let acme = policy.requirement("github", "ghcr.io/acme/tools:1.2@sha256:00");
        assert!(acme.required);
        assert_eq!(acme.identities.len(), 1);
        assert!(!policy.requirement("legacy", "mcp/fetch").required);
        assert!(!policy.requirement("other", "mcp/fetch").required);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = parse("[images]\nrequire_signatures = true\n").unwrap_err();
        assert!(error.to_string().contains("require_signatures"), "{error}");
        assert!(parse("[[images.rule]]\nrequire_signature = true\n").is_err());
        assert!(parse("[images]\nidentities = [{ issuer = \"x\" }]\n").is_err());
    }

    #[test]
    fn flags_add_their_signers_and_require_a_signature() {
        let flags = Policy::from_flags(
            Vec::new(),
            vec![KeylessIdentity {
                identity: IdentityPattern::Exact("me@example.com".to_string()),
                issuer: "https://accounts.google.com".to_string(),
            }],
        );
        assert!(flags.requirement("a", "b").required);
        let policy = Policy::parse(
            "[images]\nrequire_signature = false\n",
            "p",
            Path::new("."),
            &flags,
        )
        .unwrap();
        let requirement = policy.requirement("a", "b");
        assert!(requirement.required);
        assert_eq!(requirement.identities.len(), 1);
    }

    #[test]
    fn the_readme_policy_example_is_a_valid_policy() {
        let readme = include_str!("../../README.md");
        let section = readme.split("## Supply chain").nth(1).unwrap();
        let example = section
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap();
        let dir = std::env::temp_dir().join(format!("mcp-audit-policy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        let signer = sigstore::crypto::SigningScheme::ECDSA_P256_SHA256_ASN1
            .create_signer()
            .unwrap();
        let pem = signer
            .to_sigstore_keypair()
            .unwrap()
            .public_key_to_pem()
            .unwrap();
        std::fs::write(dir.join("keys/vendor-cosign.pub"), pem).unwrap();
        let policy = Policy::parse(example, "README.md", &dir, &Policy::default()).unwrap();
        assert!(!policy.requirement("x", "mcp/fetch").required);
        let acme = policy.requirement("gh", "ghcr.io/acme/tools:1.0");
        assert!(acme.required);
        assert!(acme.identities[0].accepts(
            "https://github.com/acme/tools/.github/workflows/release.yml@refs/tags/v1.0",
            "https://token.actions.githubusercontent.com"
        ));
        assert_eq!(policy.requirement("payments", "vendor/pay:2").keys.len(), 1);
        assert!(!policy.requirement("legacy-notes", "old/notes").required);
    }
}
