//! The trust policy: `mcp-audit.toml`, read into typed requirements for each image (whether a
//! signature is required, which keys and keyless identities are accepted), merged with the
//! command line's `--key` and identity flags. It decides what is required; it verifies nothing.

use crate::registry::trust::{
    IdentityPattern, KeylessIdentity, TrustError, TrustRequirement, TrustedKey,
};
use regex::Regex;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The policy file's name, looked for beside the configs scanned.
pub const POLICY_FILE_NAME: &str = "mcp-audit.toml";

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the policy {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the policy {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("the policy {path}: {source}")]
    Trust { path: String, source: TrustError },
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    images: ImagesSection,
}

/// `[images]`: the requirement for every image, and `[[images.rule]]` for some of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagesSection {
    require_signature: Option<bool>,
    #[serde(default)]
    keys: Vec<PathBuf>,
    #[serde(default)]
    identities: Vec<IdentityEntry>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityEntry {
    identity: Option<String>,
    identity_regexp: Option<String>,
    issuer: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    server: Option<String>,
    image: Option<String>,
    require_signature: Option<bool>,
    keys: Option<Vec<PathBuf>>,
    identities: Option<Vec<IdentityEntry>>,
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
    image: Option<Regex>,
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
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: shown.clone(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Policy::parse(&text, &shown, base, flags)
    }

    pub fn parse(
        text: &str,
        shown: &str,
        base: &Path,
        flags: &Policy,
    ) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Parse {
            path: shown.to_string(),
            message: e.to_string(),
        })?;
        let trust = |source| PolicyError::Trust {
            path: shown.to_string(),
            source,
        };
        let section = file.images;
        let keys = read_keys(&section.keys, base).map_err(trust)?;
        let identities = identities(&section.identities).map_err(trust)?;
        let default = requirement(section.require_signature, keys, identities, &flags.default);
        let mut rules = Vec::new();
        for (index, rule) in section.rules.into_iter().enumerate() {
            if rule.server.is_none() && rule.image.is_none() {
                return Err(PolicyError::Parse {
                    path: shown.to_string(),
                    message: format!(
                        "images.rule[{index}] names neither a `server` nor an `image`"
                    ),
                });
            }
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
                server: rule.server,
                image: rule.image.as_deref().map(glob).transpose().map_err(trust)?,
                requirement: requirement(rule.require_signature, keys, identities, &flags.default),
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
                    && rule.image.as_ref().is_none_or(|pattern| {
                        pattern.is_match(image) || pattern.is_match(image_name(image))
                    })
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

/// A shell-style pattern (`*` for any run of characters) as an anchored regex.
fn glob(pattern: &str) -> Result<Regex, TrustError> {
    let body: Vec<String> = pattern.split('*').map(regex::escape).collect();
    Regex::new(&format!("^{}$", body.join(".*"))).map_err(|e| TrustError::Pattern {
        pattern: pattern.to_string(),
        problem: e.to_string(),
    })
}

/// An image without its tag and digest: `ghcr.io/org/x:1@sha256:…` → `ghcr.io/org/x`.
fn image_name(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].find(':') {
        Some(colon) => &name[..slash + colon],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, "mcp-audit.toml", Path::new("."), &Policy::default())
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

    #[test]
    fn image_names_drop_tags_and_digests() {
        assert_eq!(image_name("ghcr.io/a/b:1@sha256:00"), "ghcr.io/a/b");
        assert_eq!(image_name("localhost:5000/a"), "localhost:5000/a");
        assert_eq!(image_name("mcp/fetch"), "mcp/fetch");
    }
}
