//! Sigstore bundles: verified offline against the trust root with `sigstore-verify`, by key or
//! by keyless identity, and sorted into "not by a signer we accept" and "not a valid signature".
//! This is the one keyless machinery: referrer bundles, `.sig` tags' certificates (turned into
//! bundles by `cosign`) and the conformance vectors all pass through `verify_bundle`.

use super::SignatureKind;
use super::trust::{TrustRequirement, TrustRoot};
use sha2::{Digest, Sha256};
use sigstore::crypto::{CosignVerificationKey, Signature};
use sigstore_verify::types::{Artifact, Bundle, DerPublicKey, SignatureContent, Statement};
use sigstore_verify::{
    CertificateError, Error as VerifyError, PublicKeyVerificationPolicy, VerificationPolicy,
};

/// The predicate type of a cosign image signature, as opposed to an attestation (SBOM,
/// provenance) that is also stored as a bundle referrer.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// Why a bundle is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleRejection {
    /// A well-formed signature, but not by a key or identity the policy accepts (or not
    /// chaining to the trust root).
    #[error("{0}")]
    Untrusted(String),
    /// Not a valid signature at all: it does not verify, its log proof fails, it is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Who made an accepted signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSigner {
    pub kind: SignatureKind,
    /// The key's file, or `identity (issuer)`: how reports name the signer.
    pub signer: String,
    /// The key's `TrustedKey::id`, or `identity (issuer)`: what a lockfile pins.
    pub id: String,
}

/// Verify a bundle over `artifact` (the bytes signed, or for DSSE the subject's digest).
/// With no keys and no identities in `trust`, a keyless bundle is checked against the trust root
/// for any identity (its signer is reported, not judged), and a key bundle cannot be checked.
pub fn verify_bundle(
    bundle_json: &str,
    artifact: Artifact<'_>,
    trust: &TrustRequirement,
    root: &TrustRoot,
) -> Result<BundleSigner, BundleRejection> {
    let bundle = Bundle::from_json(bundle_json)
        .map_err(|e| BundleRejection::Invalid(format!("not a Sigstore bundle: {e}")))?;
    match bundle.signing_certificate() {
        Some(_) => verify_keyless(&bundle, artifact, trust, root),
        None => verify_with_keys(&bundle, artifact, trust, root),
    }
}

fn verify_keyless(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    trust: &TrustRequirement,
    root: &TrustRoot,
) -> Result<BundleSigner, BundleRejection> {
    if trust.identities.is_empty() && !trust.keys.is_empty() {
        return Err(BundleRejection::Untrusted(
            "the signature is keyless, but only keys are accepted".to_string(),
        ));
    }
    let policies: Vec<(VerificationPolicy, Option<&super::KeylessIdentity>)> =
        if trust.identities.is_empty() {
            vec![(VerificationPolicy::any_identity(), None)]
        } else {
            trust
                .identities
                .iter()
                .map(|id| {
                    let policy = VerificationPolicy::any_identity().require_issuer(&id.issuer);
                    let policy = match &id.identity {
                        super::trust::IdentityPattern::Exact(exact) => {
                            policy.require_identity(exact.as_str())
                        }
                        super::trust::IdentityPattern::Regex(_) => policy,
                    };
                    (policy, Some(id))
                })
                .collect()
        };
    let mut worst: Option<BundleRejection> = None;
    for (policy, wanted) in policies {
        let rejection = match root.verifier.verify(artifact.clone(), bundle, &policy) {
            Ok(result) => {
                let identity = result.identity().map(|i| i.as_str().to_string());
                let issuer = result.issuer().map(str::to_string);
                let (Some(identity), Some(issuer)) = (identity, issuer) else {
                    return Err(BundleRejection::Invalid(
                        "the certificate names no identity or no issuer".to_string(),
                    ));
                };
                if wanted.is_none_or(|w| w.accepts(&identity, &issuer)) {
                    return Ok(BundleSigner {
                        kind: SignatureKind::Keyless,
                        signer: format!("{identity} ({issuer})"),
                        id: format!("{identity} ({issuer})"),
                    });
                }
                BundleRejection::Untrusted(format!(
                    "signed by {identity} ({issuer}), which is not an accepted identity"
                ))
            }
            Err(error) => classify(&error, SignatureKind::Keyless),
        };
        worst = Some(worse(worst, rejection));
    }
    Err(worst.unwrap_or_else(|| BundleRejection::Untrusted("no identity to check".to_string())))
}

fn verify_with_keys(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    trust: &TrustRequirement,
    root: &TrustRoot,
) -> Result<BundleSigner, BundleRejection> {
    if trust.keys.is_empty() {
        return Err(BundleRejection::Untrusted(
            "the signature was made with a key, and no key was given to check it".to_string(),
        ));
    }
    // A key is trusted by itself, as cosign's `--key` is; a log entry or timestamp, when there is
    // one, must still verify.
    let logged = !bundle.verification_material.tlog_entries.is_empty();
    let stamped = !bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps
        .is_empty();
    let mut worst: Option<BundleRejection> = None;
    if !logged && !stamped {
        for key in &trust.keys {
            match verify_unlogged(bundle, &artifact, &key.pem) {
                Ok(()) => {
                    return Ok(BundleSigner {
                        kind: SignatureKind::Key,
                        signer: key.name.clone(),
                        id: key.id.clone(),
                    });
                }
                Err(rejection) => worst = Some(worse(worst, rejection)),
            }
        }
        return Err(worst.unwrap_or_else(|| BundleRejection::Untrusted("no key to check".into())));
    }
    for key in &trust.keys {
        let der = match DerPublicKey::from_pem(&key.pem) {
            Ok(der) => der,
            Err(e) => {
                worst = Some(worse(
                    worst,
                    BundleRejection::Untrusted(format!("{}: {e}", key.name)),
                ));
                continue;
            }
        };
        let policy = PublicKeyVerificationPolicy::new(der);
        let policy = if logged {
            policy
        } else {
            policy.skip_tlog_unsafe()
        };
        match root.verifier.verify(artifact.clone(), bundle, &policy) {
            Ok(_) => {
                return Ok(BundleSigner {
                    kind: SignatureKind::Key,
                    signer: key.name.clone(),
                    id: key.id.clone(),
                });
            }
            Err(error) => worst = Some(worse(worst, classify(&error, SignatureKind::Key))),
        }
    }
    Err(worst.unwrap_or_else(|| BundleRejection::Untrusted("no key to check".to_string())))
}

/// A key signature with no log entry and no timestamp (`cosign sign --key … --tlog-upload=false`):
/// sigstore-verify wants evidence of the signing time, which a key trusted by itself does not
/// need, so the signature and what it binds are checked here, as cosign does.
fn verify_unlogged(
    bundle: &Bundle,
    artifact: &Artifact<'_>,
    pem: &str,
) -> Result<(), BundleRejection> {
    let key = CosignVerificationKey::try_from_pem(pem.as_bytes())
        .map_err(|e| BundleRejection::Untrusted(format!("the key cannot be used: {e}")))?;
    let not_this_key = |e: sigstore::errors::SigstoreError| {
        BundleRejection::Untrusted(format!("not signed by this key ({e})"))
    };
    let wanted = match artifact {
        Artifact::Blob(bytes) => Sha256::digest(bytes).to_vec(),
        Artifact::Digest(digest) => digest.as_bytes().to_vec(),
        _ => {
            return Err(BundleRejection::Invalid(
                "an artifact of an unknown kind".to_string(),
            ));
        }
    };
    match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => {
            key.verify_signature(
                Signature::Raw(envelope.signature.sig.as_bytes()),
                &envelope.pae(),
            )
            .map_err(not_this_key)?;
            if envelope.payload_type != "application/vnd.in-toto+json" {
                return Err(BundleRejection::Invalid(format!(
                    "the DSSE payload is a `{}`, not an in-toto statement",
                    envelope.payload_type
                )));
            }
            let statement: Statement = serde_json::from_slice(envelope.payload.as_bytes())
                .map_err(|e| BundleRejection::Invalid(format!("the DSSE payload: {e}")))?;
            let names_it = statement.subject.iter().any(|s| {
                s.digest
                    .sha256
                    .is_some_and(|d| d.as_bytes() == wanted.as_slice())
            });
            if !names_it {
                return Err(BundleRejection::Invalid(
                    "artifact mismatch: the statement's subjects name another digest".to_string(),
                ));
            }
            Ok(())
        }
        SignatureContent::MessageSignature(message) => {
            let Artifact::Blob(bytes) = artifact else {
                return Err(BundleRejection::Invalid(
                    "a message signature of something other than this image".to_string(),
                ));
            };
            if let Some(digest) = &message.message_digest
                && digest.digest.as_bytes() != wanted.as_slice()
            {
                return Err(BundleRejection::Invalid(
                    "artifact mismatch: the message digest is another artifact's".to_string(),
                ));
            }
            key.verify_signature(Signature::Raw(message.signature.as_bytes()), bytes)
                .map_err(not_this_key)
        }
        _ => Err(BundleRejection::Invalid(
            "an unknown kind of bundle content".to_string(),
        )),
    }
}

/// Sort a verification error. A key signature that does not verify could be another key's
/// or a tampered one, and nothing in it tells which: it is "not by an accepted key". A keyless
/// signature carries its own key, so one that does not verify is invalid.
fn classify(error: &VerifyError, kind: SignatureKind) -> BundleRejection {
    let text = error.to_string();
    match error {
        VerifyError::IdentityMismatch { .. } | VerifyError::IssuerMismatch { .. } => {
            BundleRejection::Untrusted(text)
        }
        VerifyError::Certificate(CertificateError::Malformed(_)) => BundleRejection::Invalid(text),
        VerifyError::Certificate(_) => BundleRejection::Untrusted(text),
        VerifyError::SignatureInvalid(_) if kind == SignatureKind::Key => {
            BundleRejection::Untrusted(format!("not signed by this key ({text})"))
        }
        _ => BundleRejection::Invalid(text),
    }
}

/// Of two rejections, the one that says more is wrong: invalid over untrusted.
fn worse(current: Option<BundleRejection>, next: BundleRejection) -> BundleRejection {
    match (current, next) {
        (Some(invalid @ BundleRejection::Invalid(_)), _) => invalid,
        (_, next) => next,
    }
}

/// The in-toto statement a DSSE bundle signs, when it is one.
pub fn statement_of(bundle_json: &str) -> Result<Option<Statement>, BundleRejection> {
    let bundle = Bundle::from_json(bundle_json)
        .map_err(|e| BundleRejection::Invalid(format!("not a Sigstore bundle: {e}")))?;
    match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => {
            serde_json::from_slice::<Statement>(envelope.payload.as_bytes())
                .map(Some)
                .map_err(|e| {
                    BundleRejection::Invalid(format!(
                        "the DSSE payload is no in-toto statement: {e}"
                    ))
                })
        }
        _ => Ok(None),
    }
}
