//! The one way this stage speaks to a registry: manifests and blobs fetched with bounded size,
//! time and retries, each hashed here so no digest is ever taken on the registry's word.
//! Plain HTTP is used only for loopback registries and those named insecure; it decides nothing
//! about trust.

use super::credentials;
use super::transport::{Get, Transport};
use super::{SupplyOptions, Timeouts};
use oci_client::Reference;
use oci_client::manifest::{OciDescriptor, OciImageIndex};
use oci_client::secrets::RegistryAuth;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// Largest manifest accepted, as the OCI distribution spec suggests registries allow.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Largest signature payload or bundle blob accepted; cosign's are a few kilobytes.
pub const MAX_SIGNATURE_BLOB_BYTES: usize = 4 * 1024 * 1024;

/// Manifest media types asked for: OCI and Docker, single images and indexes.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Why a fetch gave nothing usable. Each is a different answer in the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("not a valid image reference: {0}")]
    Reference(String),
    #[error("the registry has no {0}")]
    NotFound(String),
    #[error("the registry refused access: {0}")]
    Denied(String),
    #[error("asked for {expected}, but the bytes served hash to {actual}")]
    Lied { expected: String, actual: String },
    #[error("{what} is {size} bytes or more, over the {limit}-byte limit")]
    TooLarge {
        what: String,
        size: u64,
        limit: usize,
    },
    #[error("{0}")]
    Unusable(String),
    #[error("{0}")]
    Unreachable(String),
}

/// A manifest as served, with the digest computed here over exactly these bytes.
pub struct RawManifest {
    pub bytes: Vec<u8>,
    pub digest: String,
}

pub struct RegistryClient {
    /// Why no HTTP client could be built, if none could; every fetch then says so.
    transport: Result<Transport, String>,
    /// Credentials per registry host, looked up once.
    auths: Mutex<HashMap<String, RegistryAuth>>,
    timeouts: Timeouts,
}

/// Whether a registry (`host` or `host:port`) is on this machine, where Docker also speaks
/// plain HTTP.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.rsplit_once(':').map_or(registry, |(host, _)| host),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl RegistryClient {
    /// A client for the given registries: plain HTTP for the loopback and insecure ones.
    pub fn new(options: &SupplyOptions, registries: impl Iterator<Item = String>) -> Self {
        let transport = Transport::new(
            plain_http_registries(options, registries),
            options.timeouts.connect,
            options.timeouts.request,
        )
        .map_err(|e| format!("cannot start an HTTP client: {e}"));
        RegistryClient {
            transport,
            auths: Mutex::new(HashMap::new()),
            timeouts: options.timeouts,
        }
    }

    fn auth(&self, reference: &Reference) -> RegistryAuth {
        let registry = reference.resolve_registry().to_string();
        let mut auths = self.auths.lock().unwrap_or_else(|e| e.into_inner());
        auths
            .entry(registry)
            .or_insert_with_key(|registry| credentials::registry_auth(registry))
            .clone()
    }

    /// One bounded GET, under the deadline and retried after a transient failure.
    async fn get(
        &self,
        reference: &Reference,
        kind: &str,
        id: &str,
        accept: &[&str],
        limit: usize,
        what: &str,
    ) -> Result<super::transport::Answer, FetchError> {
        let transport = self
            .transport
            .as_ref()
            .map_err(|e| FetchError::Unreachable(format!("{what}: {e}")))?;
        let credentials = self.auth(reference);
        let get = Get {
            reference,
            kind,
            id,
            accept,
            credentials: &credentials,
            limit,
            what,
        };
        self.retry(what, || transport.get(&get)).await
    }

    /// A manifest, checked against the digest the reference names (if any) and the digest the
    /// registry declares (if any) by hashing the bytes received.
    pub async fn fetch_manifest(&self, reference: &Reference) -> Result<RawManifest, FetchError> {
        let what = format!("manifest {reference}");
        let id = reference
            .digest()
            .or(reference.tag())
            .unwrap_or("latest")
            .to_string();
        let answer = self
            .get(
                reference,
                "manifests",
                &id,
                MANIFEST_TYPES,
                MAX_MANIFEST_BYTES,
                &what,
            )
            .await?;
        let digest = sha256_digest(&answer.body);
        // Only sha256 is computed here; a declared digest of another algorithm proves nothing.
        let declared = answer
            .headers
            .get("docker-content-digest")
            .and_then(|h| h.to_str().ok())
            .filter(|d| d.starts_with("sha256:"));
        for expected in reference.digest().into_iter().chain(declared) {
            if expected != digest {
                return Err(FetchError::Lied {
                    expected: expected.to_string(),
                    actual: digest,
                });
            }
        }
        Ok(RawManifest {
            bytes: answer.body,
            digest,
        })
    }

    /// A manifest, or `None` when the registry says it does not exist.
    pub async fn find_manifest(
        &self,
        reference: &Reference,
    ) -> Result<Option<RawManifest>, FetchError> {
        match self.fetch_manifest(reference).await {
            Ok(manifest) => Ok(Some(manifest)),
            Err(FetchError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// A small blob (a signature payload, a bundle), capped and checked against its digest.
    pub async fn fetch_blob(
        &self,
        reference: &Reference,
        descriptor: &OciDescriptor,
    ) -> Result<Vec<u8>, FetchError> {
        let what = format!("blob {}", descriptor.digest);
        if usize::try_from(descriptor.size).map_or(true, |s| s > MAX_SIGNATURE_BLOB_BYTES) {
            return Err(FetchError::Unusable(format!(
                "{what} declares {} bytes, over the {MAX_SIGNATURE_BLOB_BYTES}-byte limit",
                descriptor.size
            )));
        }
        let answer = self
            .get(
                reference,
                "blobs",
                &descriptor.digest,
                &[],
                MAX_SIGNATURE_BLOB_BYTES,
                &what,
            )
            .await?;
        let actual = sha256_digest(&answer.body);
        if actual != descriptor.digest {
            return Err(FetchError::Lied {
                expected: descriptor.digest.clone(),
                actual,
            });
        }
        Ok(answer.body)
    }

    /// The referrers of a manifest (the OCI 1.1 API, or its tag fallback when the registry has
    /// no such API); an empty index when there are none.
    pub async fn fetch_referrers(
        &self,
        reference: &Reference,
    ) -> Result<OciImageIndex, FetchError> {
        let what = format!("referrers of {reference}");
        let Some(subject) = reference.digest() else {
            return Err(FetchError::Reference(format!(
                "{what}: referrers are listed for a digest, not a tag"
            )));
        };
        let body = match self
            .get(
                reference,
                "referrers",
                subject,
                &["application/vnd.oci.image.index.v1+json"],
                MAX_MANIFEST_BYTES,
                &what,
            )
            .await
        {
            Ok(answer) => answer.body,
            Err(FetchError::NotFound(_)) => {
                let tag = Reference::with_tag(
                    reference.registry().to_string(),
                    reference.repository().to_string(),
                    subject.replace(':', "-"),
                );
                match self.find_manifest(&tag).await? {
                    Some(raw) => raw.bytes,
                    None => return Ok(empty_index()),
                }
            }
            Err(error) => return Err(error),
        };
        serde_json::from_slice(&body)
            .map_err(|e| FetchError::Unusable(format!("{what}: not an image index: {e}")))
    }

    /// Run a request under the deadline, again after a transient failure, a bounded number of
    /// times.
    async fn retry<T, F, Fut>(&self, what: &str, request: F) -> Result<T, FetchError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, FetchError>>,
    {
        let attempts = self.timeouts.attempts.max(1);
        let mut attempt = 1;
        loop {
            let outcome = match tokio::time::timeout(self.timeouts.request, request()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(FetchError::Unreachable(format!(
                    "{what}: no answer within {} s",
                    self.timeouts.request.as_secs()
                ))),
            };
            match outcome {
                Err(FetchError::Unreachable(_)) if attempt < attempts => {
                    tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

fn empty_index() -> OciImageIndex {
    OciImageIndex {
        schema_version: 2,
        media_type: Some("application/vnd.oci.image.index.v1+json".to_string()),
        manifests: Vec::new(),
        artifact_type: None,
        annotations: None,
    }
}

/// The registries spoken to over plain HTTP: those on loopback, and those named insecure.
fn plain_http_registries(
    options: &SupplyOptions,
    registries: impl Iterator<Item = String>,
) -> Vec<String> {
    let mut plain: Vec<String> = registries.filter(|r| is_loopback(r)).collect();
    plain.extend(options.insecure_registries.iter().cloned());
    plain.sort();
    plain.dedup();
    plain
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_told_from_others() {
        for registry in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(registry), "{registry}");
        }
        for registry in [
            "10.0.0.1:5000",
            "ghcr.io",
            "index.docker.io",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback(registry), "{registry}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback_and_named_registries() {
        let mut options = SupplyOptions::new(super::super::TrustRoot::public_good().unwrap());
        options.insecure_registries = vec!["10.1.2.3:5000".to_string()];
        let registries = [
            "127.0.0.1:5000",
            "ghcr.io",
            "10.1.2.3:5000",
            "10.1.2.4:5000",
        ];
        let plain = plain_http_registries(&options, registries.iter().map(|r| r.to_string()));
        assert_eq!(plain, ["10.1.2.3:5000", "127.0.0.1:5000"]);
    }

    #[test]
    fn digests_are_sha256_of_the_bytes() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
