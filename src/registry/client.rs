//! The one way this stage speaks to a registry: manifests and blobs fetched with bounded size,
//! time and retries, each hashed here so no digest is ever taken on the registry's word.
//! Plain HTTP is used only for loopback registries and those named insecure; it decides nothing
//! about trust.

use super::credentials;
use super::{SupplyOptions, Timeouts};
use futures_util::StreamExt;
use oci_client::Reference;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
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
    #[error("the manifest is {size} bytes or more, over the {MAX_MANIFEST_BYTES}-byte limit")]
    TooLarge { size: usize },
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
    oci: oci_client::Client,
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
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(plain_http_registries(options, registries)),
            connect_timeout: Some(options.timeouts.connect),
            read_timeout: Some(options.timeouts.request),
            // Indexes are resolved here, with the platform the server runs.
            platform_resolver: None,
            ..ClientConfig::default()
        };
        RegistryClient {
            oci: oci_client::Client::new(config),
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

    /// A manifest, checked against the digest the reference names (if any) by hashing the
    /// bytes received.
    pub async fn fetch_manifest(&self, reference: &Reference) -> Result<RawManifest, FetchError> {
        let auth = self.auth(reference);
        let (bytes, _) = self
            .retry(|| self.oci.pull_manifest_raw(reference, &auth, MANIFEST_TYPES))
            .await
            .map_err(|e| fetch_error(e, &format!("manifest {reference}")))?;
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(FetchError::TooLarge { size: bytes.len() });
        }
        let digest = sha256_digest(&bytes);
        if let Some(expected) = reference.digest()
            && expected != digest
        {
            return Err(FetchError::Lied {
                expected: expected.to_string(),
                actual: digest,
            });
        }
        Ok(RawManifest {
            bytes: bytes.to_vec(),
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
        if usize::try_from(descriptor.size).map_or(true, |s| s > MAX_SIGNATURE_BLOB_BYTES) {
            return Err(FetchError::Unusable(format!(
                "blob {} declares {} bytes, over the {MAX_SIGNATURE_BLOB_BYTES}-byte limit",
                descriptor.digest, descriptor.size
            )));
        }
        let auth = self.auth(reference);
        // The token for the repository comes with a manifest request; a blob request alone
        // does not fetch one.
        self.oci
            .store_auth_if_needed(reference.resolve_registry(), &auth)
            .await;
        let what = format!("blob {}", descriptor.digest);
        let bytes = self
            .retry(|| async {
                let mut stream = self.oci.pull_blob_stream(reference, descriptor).await?;
                let mut bytes = Vec::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(OciDistributionError::IoError)?;
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_SIGNATURE_BLOB_BYTES {
                        return Err(OciDistributionError::GenericError(Some(format!(
                            "the blob is over the {MAX_SIGNATURE_BLOB_BYTES}-byte limit"
                        ))));
                    }
                }
                Ok(bytes)
            })
            .await
            .map_err(|e| fetch_error(e, &what))?;
        let actual = sha256_digest(&bytes);
        if actual != descriptor.digest {
            return Err(FetchError::Lied {
                expected: descriptor.digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// The referrers of a manifest (the OCI 1.1 API, or its tag fallback); an empty index
    /// when there are none.
    pub async fn fetch_referrers(
        &self,
        reference: &Reference,
    ) -> Result<OciImageIndex, FetchError> {
        let auth = self.auth(reference);
        self.oci
            .store_auth_if_needed(reference.resolve_registry(), &auth)
            .await;
        self.retry(|| self.oci.pull_referrers(reference, None))
            .await
            .map_err(|e| fetch_error(e, &format!("referrers of {reference}")))
    }

    /// Run a request under the deadline, again after a transient failure, a bounded number of
    /// times.
    async fn retry<T, F, Fut>(&self, request: F) -> Result<T, OciDistributionError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let attempts = self.timeouts.attempts.max(1);
        let mut attempt = 1;
        loop {
            let outcome = match tokio::time::timeout(self.timeouts.request, request()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(OciDistributionError::GenericError(Some(format!(
                    "no answer within {} s",
                    self.timeouts.request.as_secs()
                )))),
            };
            match outcome {
                Err(error) if attempt < attempts && is_transient(&error) => {
                    tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
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

fn is_transient(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::RequestError(_) | OciDistributionError::GenericError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| e.code == OciErrorCode::Toomanyrequests),
        _ => false,
    }
}

/// Sort oci-client's errors into the answers the report tells apart.
fn fetch_error(error: OciDistributionError, what: &str) -> FetchError {
    match error {
        OciDistributionError::DigestError(DigestError::VerificationError { expected, actual }) => {
            FetchError::Lied { expected, actual }
        }
        OciDistributionError::ImageManifestNotFoundError(_) => {
            FetchError::NotFound(what.to_string())
        }
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes = &envelope.errors;
            if codes.iter().any(|e| {
                matches!(
                    e.code,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                FetchError::NotFound(what.to_string())
            } else if codes
                .iter()
                .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                FetchError::Denied(format!("{what}: {envelope}"))
            } else if codes
                .iter()
                .any(|e| e.code == OciErrorCode::Toomanyrequests)
            {
                FetchError::Unreachable(format!("{what}: rate limited ({envelope})"))
            } else {
                FetchError::Unusable(format!("{what}: {envelope}"))
            }
        }
        OciDistributionError::ServerError { code: 404, .. } => {
            FetchError::NotFound(what.to_string())
        }
        OciDistributionError::ServerError { code, message, .. } if code >= 500 || code == 429 => {
            FetchError::Unreachable(format!("{what}: HTTP {code} {}", first_line(&message)))
        }
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => {
            FetchError::Denied(format!("{what}: {error}"))
        }
        OciDistributionError::RequestError(e) => {
            FetchError::Unreachable(format!("{what}: {}", error_chain(&e)))
        }
        OciDistributionError::GenericError(Some(message)) if message.starts_with("no answer") => {
            FetchError::Unreachable(format!("{what}: {message}"))
        }
        other => FetchError::Unusable(format!("{what}: {other}")),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// An error and its causes on one line: reqwest's own message hides why a connection failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
