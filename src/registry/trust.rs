//! What a signature is checked against: the Sigstore trust root (Fulcio authorities, Rekor and
//! CT log keys, timestamp authorities), public keys read from PEM files, and keyless identities.
//! Loading and validating only; verifying is `cosign` and `bundle`'s job.

use regex::Regex;
use sigstore::crypto::CosignVerificationKey;
use sigstore_verify::Verifier;
use sigstore_verify::trust_root::TrustedRoot;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The Sigstore public-good instance's trust root, as its clients ship it; used when no
/// `--trusted-root` is given, so keyless verification needs no network.
pub const PUBLIC_GOOD_TRUSTED_ROOT: &str =
    include_str!("../../assets/trusted_root.public-good.json");

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{source_name} is not a usable Sigstore trusted root: {problem}")]
    Root {
        source_name: String,
        problem: String,
    },
    #[error(
        "{path} is not a PEM public key cosign can use (ECDSA P-256/P-384, RSA, Ed25519): {problem}"
    )]
    Key { path: String, problem: String },
    #[error("`{pattern}` is not a valid identity pattern: {problem}")]
    Pattern { pattern: String, problem: String },
}

/// A trust root, parsed and checked once.
#[derive(Clone)]
pub struct TrustRoot {
    pub(crate) verifier: Arc<Verifier>,
    /// Where it came from, for messages.
    pub source: String,
}

impl fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustRoot")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl TrustRoot {
    pub fn public_good() -> Result<TrustRoot, TrustError> {
        TrustRoot::from_json(
            PUBLIC_GOOD_TRUSTED_ROOT,
            "the built-in Sigstore public-good root",
        )
    }

    pub fn from_file(path: &Path) -> Result<TrustRoot, TrustError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TrustError::Read {
            path: shown.clone(),
            source,
        })?;
        TrustRoot::from_json(&text, &shown)
    }

    pub fn from_json(text: &str, source_name: &str) -> Result<TrustRoot, TrustError> {
        let problem = |problem: String| TrustError::Root {
            source_name: source_name.to_string(),
            problem,
        };
        let root = TrustedRoot::from_json(text).map_err(|e| problem(e.to_string()))?;
        let verifier = Verifier::new(&root).map_err(|e| problem(e.to_string()))?;
        Ok(TrustRoot {
            verifier: Arc::new(verifier),
            source: source_name.to_string(),
        })
    }
}

/// A public key signatures may be made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The file it was read from, as given: how reports name the signer.
    pub name: String,
    pub pem: String,
    /// `key sha256:HEX` of the key's DER encoding: who the signer is, whatever the file is
    /// called or where it is, so a lockfile means the same on every machine.
    pub id: String,
}

impl TrustedKey {
    pub fn from_file(path: &Path) -> Result<TrustedKey, TrustError> {
        let name = path.display().to_string();
        let pem = std::fs::read_to_string(path).map_err(|source| TrustError::Read {
            path: name.clone(),
            source,
        })?;
        TrustedKey::from_pem(&name, &pem)
    }

    pub fn from_pem(name: &str, pem: &str) -> Result<TrustedKey, TrustError> {
        CosignVerificationKey::try_from_pem(pem.as_bytes()).map_err(|e| TrustError::Key {
            path: name.to_string(),
            problem: e.to_string(),
        })?;
        Ok(TrustedKey {
            name: name.to_string(),
            pem: pem.to_string(),
            id: key_id(pem),
        })
    }
}

/// `key sha256:HEX` of the DER a PEM file holds (its base64 body), or of the text when it has
/// no body to decode, which `CosignVerificationKey` would have refused already.
fn key_id(pem: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----") && !line.contains(':'))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .unwrap_or_else(|_| pem.trim().as_bytes().to_vec());
    format!("key sha256:{:x}", Sha256::digest(der))
}

/// The certificate identity (SAN) a keyless signature must carry: exactly, or matching a
/// regular expression anchored at both ends, as cosign's `--certificate-identity-regexp`.
#[derive(Debug, Clone)]
pub enum IdentityPattern {
    Exact(String),
    Regex(Regex),
}

impl IdentityPattern {
    pub fn regex(pattern: &str) -> Result<IdentityPattern, TrustError> {
        Regex::new(&format!("^(?:{pattern})$"))
            .map(IdentityPattern::Regex)
            .map_err(|e| TrustError::Pattern {
                pattern: pattern.to_string(),
                problem: e.to_string(),
            })
    }

    pub fn matches(&self, identity: &str) -> bool {
        match self {
            IdentityPattern::Exact(expected) => expected == identity,
            IdentityPattern::Regex(regex) => regex.is_match(identity),
        }
    }
}

impl fmt::Display for IdentityPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityPattern::Exact(identity) => f.write_str(identity),
            IdentityPattern::Regex(regex) => write!(f, "/{}/", regex.as_str()),
        }
    }
}

/// A keyless signer: an identity issued by an OIDC issuer.
#[derive(Debug, Clone)]
pub struct KeylessIdentity {
    pub identity: IdentityPattern,
    pub issuer: String,
}

impl KeylessIdentity {
    pub fn accepts(&self, identity: &str, issuer: &str) -> bool {
        self.issuer == issuer && self.identity.matches(identity)
    }
}

impl fmt::Display for KeylessIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from {}", self.identity, self.issuer)
    }
}

/// What one image must show: whether a signature is required, and whose signatures count.
/// No keys and no identities means no signer is trusted, so nothing can be verified.
#[derive(Debug, Clone, Default)]
pub struct TrustRequirement {
    pub required: bool,
    pub keys: Vec<TrustedKey>,
    pub identities: Vec<KeylessIdentity>,
}

impl TrustRequirement {
    pub fn names_signers(&self) -> bool {
        !self.keys.is_empty() || !self.identities.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_root_loads() {
        let root = TrustRoot::public_good().unwrap();
        assert!(root.source.contains("public-good"));
        let parsed = TrustedRoot::from_json(PUBLIC_GOOD_TRUSTED_ROOT).unwrap();
        assert!(!parsed.certificate_authorities.is_empty());
        assert!(!parsed.tlogs.is_empty());
        assert!(TrustRoot::from_json("{}", "empty.json").is_err());
    }

    #[test]
    fn identity_patterns_match_whole_identities() {
        let pattern = IdentityPattern::regex("https://github.com/org/.*").unwrap();
        assert!(
            pattern.matches("https://github.com/org/repo/.github/workflows/r.yml@refs/tags/v1")
        );
        assert!(!pattern.matches("x https://github.com/org/repo"));
        let exact = KeylessIdentity {
            identity: IdentityPattern::Exact("me@example.com".to_string()),
            issuer: "https://accounts.google.com".to_string(),
        };
        assert!(exact.accepts("me@example.com", "https://accounts.google.com"));
        assert!(!exact.accepts("me@example.com", "https://github.com/login/oauth"));
    }

    #[test]
    fn a_key_file_that_is_no_key_is_refused() {
        assert!(TrustedKey::from_pem("k.pub", "not a key").is_err());
    }
}
