//! Cosign signatures of a resolved image, found both ways cosign stores them: the
//! `sha256-<hex>.sig` tag of simple-signing layers, and Sigstore bundles attached as OCI
//! referrers, in the image's repository or the signature repository. Fetching is done here, so
//! "no signature" and "the registry failed" stay different answers; severity comes from rules.

use super::bundle::{self, BundleRejection, BundleSigner, COSIGN_SIGN_PREDICATE};
use super::client::{FetchError, RegistryClient, sha256_digest};
use super::manifest::Manifest;
use super::resolve::{parse_reference, repository_name};
use super::trust::{TrustRequirement, TrustRoot};
use super::{
    Findings, IMAGE_UNSIGNED, ResolvedImage, SIGNATURE_INVALID, SIGNATURE_LOOKUP_FAILED,
    SIGNATURE_MISSING, SIGNATURE_UNTRUSTED, SignatureKind, SignatureOutcome, SupplyOptions,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use oci_client::Reference;
use serde::Deserialize;
use serde_json::json;
use sigstore::cosign::SignatureLayer;
use sigstore::cosign::payload::simple_signing::SimpleSigning;
use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraint};
use sigstore_verify::types::{Artifact, Sha256Hash};
use std::collections::BTreeMap;

pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const REKOR_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// Media types of Sigstore bundles as cosign attaches them.
const BUNDLE_MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// Referrers looked at per image; a registry listing more is not believed.
const MAX_REFERRERS: usize = 64;
/// Signature layers looked at per `.sig` manifest.
const MAX_SIGNATURE_LAYERS: usize = 64;

/// What one signature showed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Verified(BundleSigner),
    Untrusted { kind: SignatureKind, reason: String },
    Invalid { kind: SignatureKind, reason: String },
}

/// A signature as found, before it is judged.
enum Candidate {
    SimpleSigning {
        subject: String,
        payload: Vec<u8>,
        layer_digest: String,
        annotations: BTreeMap<String, String>,
    },
    Bundle {
        subject: String,
        json: String,
    },
}

/// Look up, verify and judge every signature of `image`; findings go to `findings`.
pub(super) async fn check_signatures(
    client: &RegistryClient,
    image: &ResolvedImage,
    requirement: &TrustRequirement,
    options: &SupplyOptions,
    findings: &mut Findings<'_>,
) -> SignatureOutcome {
    let evidence = image.pinned_reference();
    let (candidates, failure) = match find_signatures(client, image, options).await {
        Ok(found) => (found, None),
        Err((found, error)) => (found, Some(error)),
    };
    let verdicts: Vec<Verdict> = candidates
        .iter()
        .map(|c| judge(c, image, requirement, &options.trust_root))
        .collect();
    if let Some(Verdict::Verified(signer)) =
        verdicts.iter().find(|v| matches!(v, Verdict::Verified(_)))
    {
        return SignatureOutcome {
            verified: true,
            kind: Some(signer.kind),
            signer: Some(signer.signer.clone()),
            signer_id: Some(signer.id.clone()),
            error: None,
        };
    }
    if let Some(error) = failure {
        let message = format!(
            "the signatures of `{}` could not be looked up: {error}",
            findings.target.image
        );
        findings.raise(
            SIGNATURE_LOOKUP_FAILED,
            "signature",
            message.clone(),
            &evidence,
        );
        return SignatureOutcome {
            error: Some(message),
            ..SignatureOutcome::default()
        };
    }
    let invalid = verdicts.iter().find_map(|v| match v {
        Verdict::Invalid { kind, reason } => Some((*kind, reason)),
        _ => None,
    });
    if let Some((kind, reason)) = invalid {
        let message = format!("invalid signature on `{}`: {reason}", findings.target.image);
        findings.raise(SIGNATURE_INVALID, "signature", message, &evidence);
        return SignatureOutcome {
            verified: false,
            kind: Some(kind),
            signer: None,
            signer_id: None,
            error: Some(reason.clone()),
        };
    }
    let untrusted = verdicts.iter().find_map(|v| match v {
        Verdict::Untrusted { kind, reason } => Some((*kind, reason)),
        _ => None,
    });
    if let Some((kind, reason)) = untrusted {
        if requirement.required || requirement.names_signers() {
            let message = format!(
                "no signature on `{}` is by an accepted signer: {reason}",
                findings.target.image
            );
            findings.raise(SIGNATURE_UNTRUSTED, "signature", message, &evidence);
        }
        return SignatureOutcome {
            verified: false,
            kind: Some(kind),
            signer: None,
            signer_id: None,
            error: Some(reason.clone()),
        };
    }
    let reason = "no signature found".to_string();
    if requirement.required {
        let message = format!(
            "`{}` has no signature, and the policy requires one",
            findings.target.image
        );
        findings.raise(SIGNATURE_MISSING, "signature", message, &evidence);
    } else {
        let message = format!("`{}` has no cosign signature", findings.target.image);
        findings.raise(IMAGE_UNSIGNED, "signature", message, &evidence);
    }
    SignatureOutcome {
        error: Some(reason),
        ..SignatureOutcome::default()
    }
}

/// Every signature stored for the image's digests (the index's, then the platform manifest's).
/// On a registry failure, what was found so far comes back with the error.
async fn find_signatures(
    client: &RegistryClient,
    image: &ResolvedImage,
    options: &SupplyOptions,
) -> Result<Vec<Candidate>, (Vec<Candidate>, FetchError)> {
    let store = match &options.signature_repository {
        Some(repository) => parse_reference(repository).map_err(|e| (Vec::new(), e))?,
        None => parse_reference(&image.repository).map_err(|e| (Vec::new(), e))?,
    };
    let subjects: Vec<&String> = image.index_digest.iter().chain([&image.digest]).collect();
    let mut found = Vec::new();
    for subject in subjects {
        if let Err(error) = find_tag_signatures(client, &store, subject, &mut found).await {
            return Err((found, error));
        }
        if let Err(error) = find_referrer_bundles(client, &store, subject, &mut found).await {
            return Err((found, error));
        }
    }
    Ok(found)
}

/// The `sha256-<hex>.sig` tag's simple-signing layers.
async fn find_tag_signatures(
    client: &RegistryClient,
    store: &Reference,
    subject: &str,
    found: &mut Vec<Candidate>,
) -> Result<(), FetchError> {
    let tag = format!("{}.sig", subject.replace(':', "-"));
    let reference = Reference::with_tag(
        store.registry().to_string(),
        store.repository().to_string(),
        tag,
    );
    let Some(raw) = client.find_manifest(&reference).await? else {
        return Ok(());
    };
    let manifest = Manifest::parse(&raw.bytes).map_err(FetchError::Unusable)?;
    for layer in manifest
        .layers
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
        .take(MAX_SIGNATURE_LAYERS)
    {
        let payload = client.fetch_blob(&reference, &descriptor(&layer)).await?;
        found.push(Candidate::SimpleSigning {
            subject: subject.to_string(),
            payload,
            layer_digest: layer.digest.clone(),
            annotations: layer.annotations.clone(),
        });
    }
    Ok(())
}

/// Sigstore bundles among the referrers of `subject`.
async fn find_referrer_bundles(
    client: &RegistryClient,
    store: &Reference,
    subject: &str,
    found: &mut Vec<Candidate>,
) -> Result<(), FetchError> {
    let at = |digest: &str| {
        Reference::with_digest(
            store.registry().to_string(),
            store.repository().to_string(),
            digest.to_string(),
        )
    };
    let referrers = client.fetch_referrers(&at(subject)).await?;
    for entry in referrers.manifests.iter().take(MAX_REFERRERS) {
        let reference = at(&entry.digest);
        let Some(raw) = client.find_manifest(&reference).await? else {
            continue;
        };
        let Ok(manifest) = Manifest::parse(&raw.bytes) else {
            continue;
        };
        for layer in manifest
            .layers
            .unwrap_or_default()
            .into_iter()
            .filter(|l| l.media_type.starts_with(BUNDLE_MEDIA_TYPE_PREFIX))
            .take(MAX_SIGNATURE_LAYERS)
        {
            let bytes = client.fetch_blob(&reference, &descriptor(&layer)).await?;
            let json = String::from_utf8_lossy(&bytes).into_owned();
            // Attestations (SBOMs, provenance) are bundles too; only a signature counts here.
            match bundle::statement_of(&json) {
                Ok(Some(statement)) if statement.predicate_type != COSIGN_SIGN_PREDICATE => {}
                _ => found.push(Candidate::Bundle {
                    subject: subject.to_string(),
                    json,
                }),
            }
        }
    }
    Ok(())
}

fn descriptor(layer: &super::manifest::Descriptor) -> oci_client::manifest::OciDescriptor {
    oci_client::manifest::OciDescriptor {
        media_type: layer.media_type.clone(),
        digest: layer.digest.clone(),
        size: layer.size,
        ..Default::default()
    }
}

fn judge(
    candidate: &Candidate,
    image: &ResolvedImage,
    requirement: &TrustRequirement,
    root: &TrustRoot,
) -> Verdict {
    match candidate {
        Candidate::SimpleSigning {
            subject,
            payload,
            layer_digest,
            annotations,
        } => judge_simple_signing(
            subject,
            payload,
            layer_digest,
            annotations,
            image,
            requirement,
            root,
        ),
        Candidate::Bundle { subject, json } => judge_bundle(subject, json, requirement, root),
    }
}

fn judge_bundle(
    subject: &str,
    json: &str,
    requirement: &TrustRequirement,
    root: &TrustRoot,
) -> Verdict {
    let kind = if json.contains("\"publicKey\"") {
        SignatureKind::Key
    } else {
        SignatureKind::Keyless
    };
    let hex = subject.strip_prefix("sha256:").unwrap_or(subject);
    let digest = match Sha256Hash::from_hex(hex) {
        Ok(digest) => digest,
        Err(e) => {
            return Verdict::Invalid {
                kind,
                reason: format!("digest {subject}: {e}"),
            };
        }
    };
    match bundle::verify_bundle(json, Artifact::from_digest(digest), requirement, root) {
        Ok(signer) => Verdict::Verified(signer),
        Err(BundleRejection::Untrusted(reason)) => Verdict::Untrusted { kind, reason },
        Err(BundleRejection::Invalid(reason)) => Verdict::Invalid {
            kind,
            reason: format!("Sigstore bundle: {reason}"),
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn judge_simple_signing(
    subject: &str,
    payload: &[u8],
    layer_digest: &str,
    annotations: &BTreeMap<String, String>,
    image: &ResolvedImage,
    requirement: &TrustRequirement,
    root: &TrustRoot,
) -> Verdict {
    let certificate = annotations.get(CERTIFICATE_ANNOTATION);
    let kind = if certificate.is_some() {
        SignatureKind::Keyless
    } else {
        SignatureKind::Key
    };
    let invalid = |reason: String| Verdict::Invalid { kind, reason };
    let Some(signature) = annotations.get(SIGNATURE_ANNOTATION) else {
        return invalid(format!("the layer {layer_digest} carries no signature"));
    };
    let simple_signing: SimpleSigning = match serde_json::from_slice(payload) {
        Ok(document) => document,
        Err(e) => return invalid(format!("the payload is no simple-signing document: {e}")),
    };
    if !simple_signing
        .critical
        .type_name
        .eq_ignore_ascii_case("cosign container image signature")
    {
        return invalid(format!(
            "the payload is a `{}`, not a cosign container image signature",
            simple_signing.critical.type_name
        ));
    }
    let named = simple_signing.critical.image.docker_manifest_digest.clone();
    let names_subject = named == subject;

    let signed = check_payload_signature(
        payload,
        signature,
        layer_digest,
        &simple_signing,
        annotations,
        requirement,
        root,
    );
    match signed {
        Ok(signed) => {
            let (kind, signer) = (signed.kind, &signed.signer);
            if !names_subject {
                return Verdict::Invalid {
                    kind,
                    reason: format!(
                        "a valid signature by {signer} for another image: its payload names {named}, this is {subject}"
                    ),
                };
            }
            let signed_repository = signed_repository(&simple_signing);
            if signed_repository != image.repository {
                return Verdict::Untrusted {
                    kind,
                    reason: format!(
                        "signed by {signer} for the repository {signed_repository}, not {}",
                        image.repository
                    ),
                };
            }
            Verdict::Verified(signed)
        }
        Err(BundleRejection::Invalid(reason)) => invalid(reason),
        Err(BundleRejection::Untrusted(reason)) if !names_subject => invalid(format!(
            "the payload names {named}, not this image's {subject}, and its signature does not verify ({reason})"
        )),
        Err(BundleRejection::Untrusted(reason)) => Verdict::Untrusted { kind, reason },
    }
}

/// The repository a payload was signed for, spelt as `repository_name` spells it.
fn signed_repository(payload: &SimpleSigning) -> String {
    let written = &payload.critical.identity.docker_reference;
    parse_reference(written)
        .map(|r| repository_name(&r))
        .unwrap_or_else(|_| written.clone())
}

/// Check the signature over the payload: with each accepted key, then, for a layer with a
/// certificate, keylessly through the bundle verifier.
fn check_payload_signature(
    payload: &[u8],
    signature: &str,
    layer_digest: &str,
    simple_signing: &SimpleSigning,
    annotations: &BTreeMap<String, String>,
    requirement: &TrustRequirement,
    root: &TrustRoot,
) -> Result<BundleSigner, BundleRejection> {
    let layer = SignatureLayer {
        simple_signing: simple_signing.clone(),
        oci_digest: layer_digest.to_string(),
        certificate_signature: None,
        bundle: None,
        signature: Some(signature.to_string()),
        raw_data: payload.to_vec(),
    };
    for key in &requirement.keys {
        let verified = PublicKeyVerifier::try_from(key.pem.as_bytes())
            .and_then(|verifier| verifier.verify(&layer));
        if let Ok(true) = verified {
            return Ok(BundleSigner {
                kind: SignatureKind::Key,
                signer: key.name.clone(),
                id: key.id.clone(),
            });
        }
    }
    let Some(certificate) = annotations.get(CERTIFICATE_ANNOTATION) else {
        return Err(BundleRejection::Untrusted(if requirement.keys.is_empty() {
            "the signature was made with a key, and no key was given to check it".to_string()
        } else {
            "the signature does not verify with any accepted key".to_string()
        }));
    };
    if requirement.identities.is_empty() && !requirement.keys.is_empty() {
        return Err(BundleRejection::Untrusted(
            "the signature is keyless and does not verify with any accepted key".to_string(),
        ));
    }
    let rekor = annotations.get(REKOR_BUNDLE_ANNOTATION).ok_or_else(|| {
        BundleRejection::Untrusted(
            "a keyless signature without a transparency-log entry: when it was made cannot be proven"
                .to_string(),
        )
    })?;
    let bundle = keyless_bundle(certificate, signature, rekor, payload)?;
    bundle::verify_bundle(&bundle, Artifact::from_blob(payload), requirement, root)
}

/// cosign's Rekor bundle annotation.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RekorBundle {
    signed_entry_timestamp: String,
    payload: RekorPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorEntryKind {
    kind: String,
    api_version: String,
}

/// A `.sig` layer's certificate, signature and Rekor entry as the Sigstore bundle (v0.1, with an
/// inclusion promise) that carries the same evidence, so one verifier checks both.
fn keyless_bundle(
    certificate_pem: &str,
    signature: &str,
    rekor_annotation: &str,
    payload: &[u8],
) -> Result<String, BundleRejection> {
    let invalid =
        |what: &str, e: &dyn std::fmt::Display| BundleRejection::Invalid(format!("{what}: {e}"));
    let certificate = pem_der(certificate_pem).map_err(|e| invalid("the certificate", &e))?;
    let rekor: RekorBundle = serde_json::from_str(rekor_annotation)
        .map_err(|e| invalid("the transparency-log bundle", &e))?;
    let body = BASE64
        .decode(rekor.payload.body.as_bytes())
        .map_err(|e| invalid("the transparency-log entry", &e))?;
    let entry: RekorEntryKind =
        serde_json::from_slice(&body).map_err(|e| invalid("the transparency-log entry", &e))?;
    let log_id = hex_bytes(&rekor.payload.log_id)
        .ok_or_else(|| BundleRejection::Invalid("the log id is not hexadecimal".to_string()))?;
    let payload_digest = sha256_digest(payload);
    let payload_hex = payload_digest.trim_start_matches("sha256:");
    let digest_bytes = hex_bytes(payload_hex).unwrap_or_default();
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [{"rawBytes": BASE64.encode(certificate)}]},
            "tlogEntries": [{
                "logIndex": rekor.payload.log_index.to_string(),
                "logId": {"keyId": BASE64.encode(log_id)},
                "kindVersion": {"kind": entry.kind, "version": entry.api_version},
                "integratedTime": rekor.payload.integrated_time.to_string(),
                "inclusionPromise": {"signedEntryTimestamp": rekor.signed_entry_timestamp},
                "canonicalizedBody": rekor.payload.body,
            }],
        },
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": BASE64.encode(digest_bytes)},
            "signature": signature,
        },
    });
    Ok(bundle.to_string())
}

fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if body.is_empty() {
        return Err("no PEM certificate".to_string());
    }
    BASE64.decode(body.as_bytes()).map_err(|e| e.to_string())
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::registry::trust::{IdentityPattern, KeylessIdentity};

    const V01_BUNDLE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sigstore/bundle-verify/happy-path-v0.1/bundle.sigstore.json"
    ));
    const ARTIFACT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sigstore/bundle-verify/a.txt"
    ));

    /// The annotations cosign writes on a `.sig` layer, taken from a real keyless signature
    /// (a conformance bundle's certificate, signature and Rekor entry).
    fn cosign_annotations(set: Option<&str>) -> (String, String, String) {
        let bundle: serde_json::Value = serde_json::from_str(V01_BUNDLE).unwrap();
        let material = &bundle["verificationMaterial"];
        let der = material["x509CertificateChain"]["certificates"][0]["rawBytes"]
            .as_str()
            .unwrap();
        let body: Vec<String> = der
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            body.join("\n")
        );
        let entry = &material["tlogEntries"][0];
        let log_id = BASE64
            .decode(entry["logId"]["keyId"].as_str().unwrap())
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let rekor = json!({
            "SignedEntryTimestamp": set.unwrap_or(entry["inclusionPromise"]["signedEntryTimestamp"].as_str().unwrap()),
            "Payload": {
                "body": entry["canonicalizedBody"],
                "integratedTime": entry["integratedTime"].as_str().unwrap().parse::<i64>().unwrap(),
                "logIndex": entry["logIndex"].as_str().unwrap().parse::<i64>().unwrap(),
                "logID": log_id,
            }
        });
        let signature = bundle["messageSignature"]["signature"]
            .as_str()
            .unwrap()
            .to_string();
        (pem, signature, rekor.to_string())
    }

    fn beacon() -> TrustRequirement {
        TrustRequirement {
            required: true,
            keys: Vec::new(),
            identities: vec![KeylessIdentity {
                identity: IdentityPattern::regex("https://github.com/sigstore-conformance/.*")
                    .unwrap(),
                issuer: "https://token.actions.githubusercontent.com".to_string(),
            }],
        }
    }

    #[test]
    fn a_sig_layers_keyless_evidence_verifies_through_the_bundle_verifier() {
        let root = TrustRoot::public_good().unwrap();
        let (pem, signature, rekor) = cosign_annotations(None);
        let bundle = keyless_bundle(&pem, &signature, &rekor, ARTIFACT).unwrap();
        let signer =
            bundle::verify_bundle(&bundle, Artifact::from_blob(ARTIFACT), &beacon(), &root)
                .unwrap();
        assert_eq!(signer.kind, SignatureKind::Keyless);
        assert!(
            signer.signer.contains("sigstore-conformance"),
            "{}",
            signer.signer
        );

        let tampered = [ARTIFACT, b"!"].concat();
        let bundle = keyless_bundle(&pem, &signature, &rekor, &tampered).unwrap();
        let error =
            bundle::verify_bundle(&bundle, Artifact::from_blob(&tampered), &beacon(), &root)
                .unwrap_err();
        assert!(matches!(error, BundleRejection::Invalid(_)), "{error}");

        let forged_set = "MEUCIQDb+4xUSQ5KfnIQBBqZqk3hLNnv2Ee7K+5PbZs+3bUPFAIgUv06qrV/QdqGdIE3Gx2BHAi1rL2PUZl8GhxIp1sxH8o=";
        let (pem, signature, rekor) = cosign_annotations(Some(forged_set));
        let bundle = keyless_bundle(&pem, &signature, &rekor, ARTIFACT).unwrap();
        assert!(
            bundle::verify_bundle(&bundle, Artifact::from_blob(ARTIFACT), &beacon(), &root)
                .is_err()
        );
    }

    #[test]
    fn hex_decodes_or_refuses() {
        assert_eq!(hex_bytes("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(hex_bytes("0g"), None);
        assert_eq!(hex_bytes("abc"), None);
    }
}
