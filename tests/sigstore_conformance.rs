//! The Sigstore conformance suite's bundle vectors (`fixtures/sigstore/bundle-verify`), through
//! the same verification the registry stage uses for images: every directory verifies, or
//! fails when its name ends in `_fail`, exactly.

use mcp_audit::registry::trust::{
    IdentityPattern, KeylessIdentity, TrustRequirement, TrustRoot, TrustedKey,
};
use mcp_audit::registry::verify_bundle;
use sigstore_verify::types::Artifact;
use std::path::{Path, PathBuf};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sigstore/bundle-verify")
}

fn read_optional(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|text| text.trim().to_string())
}

/// Verify one vector as the suite's README says: its artifact (or `a.txt`), its key or its
/// identity and issuer (or the defaults), its trusted root (or the public-good one).
fn verify(dir: &Path) -> Result<(), String> {
    let bundle =
        std::fs::read_to_string(dir.join("bundle.sigstore.json")).map_err(|e| e.to_string())?;
    let artifact_path = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        vectors().join("a.txt")
    };
    let artifact = std::fs::read(&artifact_path).map_err(|e| e.to_string())?;
    let root = match dir.join("trusted_root.json") {
        path if path.exists() => TrustRoot::from_file(&path),
        _ => TrustRoot::public_good(),
    }
    .map_err(|e| e.to_string())?;
    let trust = match std::fs::read_to_string(dir.join("key.pub")) {
        Ok(pem) => TrustRequirement {
            required: true,
            keys: vec![TrustedKey::from_pem("key.pub", &pem).map_err(|e| e.to_string())?],
            identities: Vec::new(),
        },
        Err(_) => TrustRequirement {
            required: true,
            keys: Vec::new(),
            identities: vec![KeylessIdentity {
                identity: IdentityPattern::Exact(
                    read_optional(dir, "identity").unwrap_or_else(|| DEFAULT_IDENTITY.to_string()),
                ),
                issuer: read_optional(dir, "issuer").unwrap_or_else(|| DEFAULT_ISSUER.to_string()),
            }],
        },
    };
    verify_bundle(&bundle, Artifact::from_blob(&artifact), &trust, &root)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn every_bundle_verifies_or_fails_as_its_name_says() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(vectors())
        .expect("the conformance vectors are in fixtures/sigstore/bundle-verify")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("bundle.sigstore.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() > 60, "only {} vectors found", dirs.len());
    let mut wrong = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let should_fail = name.ends_with("_fail");
        match (verify(dir), should_fail) {
            (Ok(()), false) | (Err(_), true) => {}
            (Ok(()), true) => wrong.push(format!("{name}: verified, but must fail")),
            (Err(error), false) => wrong.push(format!("{name}: failed, but must verify: {error}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} vectors wrong:\n{}",
        wrong.len(),
        dirs.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_tampered_artifact_fails_a_bundle_that_verifies() {
    let dir = vectors().join("happy-path-v0.3");
    let bundle = std::fs::read_to_string(dir.join("bundle.sigstore.json")).unwrap();
    let trust = TrustRequirement {
        required: true,
        keys: Vec::new(),
        identities: vec![KeylessIdentity {
            identity: IdentityPattern::Exact(DEFAULT_IDENTITY.to_string()),
            issuer: DEFAULT_ISSUER.to_string(),
        }],
    };
    let root = TrustRoot::public_good().unwrap();
    let artifact = std::fs::read(vectors().join("a.txt")).unwrap();
    assert!(verify_bundle(&bundle, Artifact::from_blob(&artifact), &trust, &root).is_ok());
    let mut tampered = artifact.clone();
    tampered.push(b'!');
    assert!(verify_bundle(&bundle, Artifact::from_blob(&tampered), &trust, &root).is_err());
    let other = TrustRequirement {
        identities: vec![KeylessIdentity {
            identity: IdentityPattern::Exact("https://github.com/someone/else".to_string()),
            issuer: DEFAULT_ISSUER.to_string(),
        }],
        ..trust
    };
    let error = verify_bundle(&bundle, Artifact::from_blob(&artifact), &other, &root).unwrap_err();
    assert!(
        matches!(error, mcp_audit::registry::BundleRejection::Untrusted(_)),
        "{error}"
    );
}
