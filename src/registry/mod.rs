//! The supply-chain stage: resolves each container image of a config to the manifest digest its
//! registry serves, checks that digest against any pin, and verifies the image's cosign
//! signatures against the trust policy. It pulls no layers and runs nothing; it hands back, per
//! server, the verified digest (what the capture stage runs) and findings.

mod bundle;
mod client;
mod cosign;
mod credentials;
mod manifest;
mod resolve;
mod transport;
pub mod trust;

pub use bundle::{BundleRejection, verify_bundle};
pub use client::{FetchError, MAX_MANIFEST_BYTES, is_loopback};
pub use manifest::Platform;
pub use trust::{KeylessIdentity, TrustError, TrustRequirement, TrustRoot, TrustedKey};

use crate::config::{Launch, Server};
use crate::finding::{Finding, Location};
use crate::policy::Policy;
use crate::rules::RuleSet;
use client::RegistryClient;
use futures_util::StreamExt;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// The registry answered with bytes whose digest is not the one asked for or pinned.
pub const REGISTRY_DIGEST_MISMATCH: &str = "MCP401";
/// The registry could not be reached, or failed, while resolving the image.
pub const REGISTRY_UNREACHABLE: &str = "MCP402";
/// The registry says the image or tag does not exist, or refuses access to it.
pub const IMAGE_NOT_FOUND: &str = "MCP403";
/// The manifest is too large, malformed, or an index without the wanted platform.
pub const MANIFEST_UNUSABLE: &str = "MCP404";
/// No signature, and nothing asked for one.
pub const IMAGE_UNSIGNED: &str = "MCP410";
/// No signature where the policy or `--key` asks for one.
pub const SIGNATURE_MISSING: &str = "MCP411";
/// Signatures exist, but none by an accepted key or identity.
pub const SIGNATURE_UNTRUSTED: &str = "MCP412";
/// A signature that is not valid: it does not verify over its payload, its payload is
/// malformed or names another image, its transparency-log proof fails.
pub const SIGNATURE_INVALID: &str = "MCP413";
/// The registry failed while signatures were looked up, so whether any exist is unknown.
pub const SIGNATURE_LOOKUP_FAILED: &str = "MCP414";

/// Every rule this stage can raise; each must exist in the built-in rule set.
pub const RULE_IDS: &[&str] = &[
    REGISTRY_DIGEST_MISMATCH,
    REGISTRY_UNREACHABLE,
    IMAGE_NOT_FOUND,
    MANIFEST_UNUSABLE,
    IMAGE_UNSIGNED,
    SIGNATURE_MISSING,
    SIGNATURE_UNTRUSTED,
    SIGNATURE_INVALID,
    SIGNATURE_LOOKUP_FAILED,
];

/// How the stage talks to registries and what it trusts; flags fill it in.
#[derive(Debug, Clone)]
pub struct SupplyOptions {
    /// The platform picked from an index when the server's `docker run` names none.
    pub platform: Platform,
    /// Registries (`HOST:PORT`) spoken to over plain HTTP besides loopback ones.
    pub insecure_registries: Vec<String>,
    /// Where signatures are stored instead of the image's own repository (cosign's
    /// `COSIGN_REPOSITORY`).
    pub signature_repository: Option<String>,
    /// The trust root for keyless signatures.
    pub trust_root: TrustRoot,
    /// Bounds on every registry request.
    pub timeouts: Timeouts,
    /// How many images are audited at once.
    pub concurrency: usize,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

/// Bounds on each registry request: a connect timeout, a whole-request deadline, and how many
/// times a failed request is tried in all.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
    pub attempts: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
            attempts: 3,
        }
    }
}

impl SupplyOptions {
    pub fn new(trust_root: TrustRoot) -> Self {
        SupplyOptions {
            platform: Platform::default(),
            insecure_registries: Vec::new(),
            signature_repository: None,
            trust_root,
            timeouts: Timeouts::default(),
            concurrency: 8,
            progress: false,
        }
    }
}

/// What the stage learnt about one server's image.
#[derive(Debug, Clone)]
pub struct ImageAudit {
    pub server: String,
    /// The server's entry in its config: what tells two servers of one name apart when several
    /// configs are scanned together.
    pub entry: Location,
    /// The image as the config writes it.
    pub image: String,
    /// Set when the registry answered and every digest checked out.
    pub resolved: Option<ResolvedImage>,
    /// `None` when the image was never resolved, so no signature was looked for.
    pub signature: Option<SignatureOutcome>,
    pub findings: Vec<Finding>,
}

/// An image pinned to the bytes its registry served, after their digest was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// `registry/repository`, Docker Hub names spelt out (`docker.io/mcp/fetch`).
    pub repository: String,
    /// The digest of the single-platform manifest that runs.
    pub digest: String,
    /// `os/architecture[/variant]` of that manifest, when the registry says.
    pub platform: Option<String>,
    /// The digest of the index the reference pointed at, when it was one.
    pub index_digest: Option<String>,
}

impl ResolvedImage {
    /// The reference a container must run to get exactly the verified bytes: `repo@sha256:…`.
    pub fn pinned_reference(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }
}

/// How a signature was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureKind {
    /// With a long-lived key pair.
    Key,
    /// With a short-lived Fulcio certificate for an OIDC identity.
    Keyless,
}

/// The report's `signature` object: whether a signature checked out, how it was made, by whom,
/// and why not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignatureOutcome {
    pub verified: bool,
    pub kind: Option<SignatureKind>,
    /// The key file, or the certificate's identity and issuer.
    pub signer: Option<String>,
    /// Who signed, as a lockfile pins it: the key's fingerprint, or the identity and issuer.
    #[serde(skip)]
    pub signer_id: Option<String>,
    pub error: Option<String>,
}

/// Audit every server launched from a container image, concurrently; the servers that are not
/// containers are skipped. Runs its own runtime, so callers stay synchronous.
pub fn audit_images(
    servers: &[&Server],
    options: &SupplyOptions,
    policy: &Policy,
    rules: &RuleSet,
) -> Vec<ImageAudit> {
    let targets: Vec<Target> = servers.iter().filter_map(|s| Target::of(s)).collect();
    if targets.is_empty() {
        return Vec::new();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let reason = format!("cannot start the registry client: {error}");
            return targets
                .iter()
                .map(|t| unreachable_audit(t, rules, &reason))
                .collect();
        }
    };
    let client = RegistryClient::new(options, targets.iter().map(|t| t.registry()));
    let bar = progress_bar(options.progress, targets.len());
    let mut audits: Vec<ImageAudit> = runtime.block_on(async {
        futures_util::stream::iter(targets.iter())
            .map(|target| {
                let client = &client;
                let bar = &bar;
                async move {
                    let requirement = policy.requirement(&target.server, &target.image);
                    let audit = audit_image(client, target, &requirement, options, rules).await;
                    if let Some(bar) = bar {
                        bar.inc(1);
                    }
                    audit
                }
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    audits.sort_by(|a, b| a.server.cmp(&b.server));
    audits
}

fn progress_bar(enabled: bool, count: usize) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let bar = indicatif::ProgressBar::new(count as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} images {pos}/{len} {wide_bar}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

/// One server's image, as the config gives it.
struct Target {
    server: String,
    entry: Location,
    image: String,
    location: Location,
    /// `docker run --platform`, which decides what runs.
    platform: Option<String>,
}

impl Target {
    fn of(server: &Server) -> Option<Target> {
        let Launch::Container {
            args, docker_run, ..
        } = &server.launch
        else {
            return None;
        };
        let image = docker_run.image.as_ref()?;
        // A template (`{{image}}`, `${IMAGE}`) is filled in elsewhere; there is nothing to resolve.
        if image.text.contains(['{', '$', '<']) {
            return None;
        }
        let location = args
            .get(image.index)
            .map_or_else(|| server.location.clone(), |a| a.location.clone());
        let platform = docker_run
            .last("platform")
            .and_then(|o| o.value.clone())
            .filter(|p| !p.is_empty());
        Some(Target {
            server: server.name.clone(),
            entry: server.location.clone(),
            image: image.text.clone(),
            location,
            platform,
        })
    }

    fn registry(&self) -> String {
        resolve::parse_reference(&self.image)
            .map(|r| r.resolve_registry().to_string())
            .unwrap_or_default()
    }
}

/// Builds one image's findings with the severities the rule data gives.
struct Findings<'a> {
    rules: &'a RuleSet,
    target: &'a Target,
    list: Vec<Finding>,
}

impl Findings<'_> {
    fn raise(&mut self, id: &str, field: &str, message: String, evidence: &str) {
        let Some(finding) = self.rules.finding(id, &self.target.server, message) else {
            return;
        };
        self.list.push(
            finding
                .field(field)
                .evidence(evidence)
                .location(Some(self.target.location.clone())),
        );
    }
}

fn unreachable_audit(target: &Target, rules: &RuleSet, reason: &str) -> ImageAudit {
    let mut findings = Findings {
        rules,
        target,
        list: Vec::new(),
    };
    findings.raise(
        REGISTRY_UNREACHABLE,
        "image",
        format!("image `{}` could not be resolved: {reason}", target.image),
        &target.image,
    );
    ImageAudit {
        server: target.server.clone(),
        entry: target.entry.clone(),
        image: target.image.clone(),
        resolved: None,
        signature: None,
        findings: findings.list,
    }
}

async fn audit_image(
    client: &RegistryClient,
    target: &Target,
    requirement: &TrustRequirement,
    options: &SupplyOptions,
    rules: &RuleSet,
) -> ImageAudit {
    let mut findings = Findings {
        rules,
        target,
        list: Vec::new(),
    };
    let mut audit = ImageAudit {
        server: target.server.clone(),
        entry: target.entry.clone(),
        image: target.image.clone(),
        resolved: None,
        signature: None,
        findings: Vec::new(),
    };
    let platform = match target.platform.as_deref().map(Platform::parse) {
        Some(Ok(platform)) => platform,
        Some(Err(problem)) => {
            findings.raise(MANIFEST_UNUSABLE, "docker run --platform", problem, "");
            audit.findings = findings.list;
            return audit;
        }
        None => options.platform.clone(),
    };
    let resolved = match resolve::resolve_image(client, &target.image, &platform).await {
        Ok(resolved) => resolved,
        Err(error) => {
            raise_fetch_error(&mut findings, &target.image, &error);
            audit.findings = findings.list;
            return audit;
        }
    };
    let signature =
        cosign::check_signatures(client, &resolved, requirement, options, &mut findings).await;
    audit.resolved = Some(resolved);
    audit.signature = Some(signature);
    audit.findings = findings.list;
    audit
}

fn raise_fetch_error(findings: &mut Findings<'_>, image: &str, error: &FetchError) {
    let (id, message) = match error {
        FetchError::Lied { .. } => (
            REGISTRY_DIGEST_MISMATCH,
            format!("the registry lied about image `{image}`: {error}"),
        ),
        FetchError::NotFound(_) | FetchError::Denied(_) => {
            (IMAGE_NOT_FOUND, format!("image `{image}`: {error}"))
        }
        FetchError::Unusable(_) | FetchError::TooLarge { .. } | FetchError::Reference(_) => {
            (MANIFEST_UNUSABLE, format!("image `{image}`: {error}"))
        }
        FetchError::Unreachable(_) => (
            REGISTRY_UNREACHABLE,
            format!("image `{image}` could not be resolved: {error}"),
        ),
    };
    findings.raise(id, "image", message, image);
}

/// The stage's settings as the command line gives them: paths and texts, read and checked by
/// `prepare`.
#[derive(Debug, Clone, Default)]
pub struct SupplyInput {
    /// `os/arch[/variant]` picked from an index (default `linux/amd64`).
    pub platform: Option<String>,
    pub insecure_registries: Vec<String>,
    pub signature_repository: Option<String>,
    /// PEM public keys accepted for every image.
    pub keys: Vec<PathBuf>,
    pub certificate_identity: Option<String>,
    pub certificate_identity_regexp: Option<String>,
    pub certificate_oidc_issuer: Option<String>,
    /// A Sigstore `trusted_root.json` instead of the built-in public-good root.
    pub trusted_root: Option<PathBuf>,
    /// How many images are audited at once (default 8).
    pub concurrency: Option<usize>,
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SupplyError {
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    #[error("--platform: {0}")]
    Platform(String),
    #[error("{0}")]
    Flags(String),
}

/// Read what the settings name (trust root, keys) into the options the stage runs with, and
/// merge the flags' signers with the policy file's requirements, when there is one.
pub fn prepare(
    input: &SupplyInput,
    document: Option<&crate::policy::PolicyDocument>,
) -> Result<(SupplyOptions, Policy), SupplyError> {
    let trust_root = match &input.trusted_root {
        Some(path) => TrustRoot::from_file(path)?,
        None => TrustRoot::public_good()?,
    };
    let mut options = SupplyOptions::new(trust_root);
    if let Some(platform) = &input.platform {
        options.platform = Platform::parse(platform).map_err(SupplyError::Platform)?;
    }
    options.insecure_registries = input.insecure_registries.clone();
    options.signature_repository = input.signature_repository.clone();
    options.progress = input.progress;
    if let Some(concurrency) = input.concurrency {
        options.concurrency = concurrency.max(1);
    }
    let keys = input
        .keys
        .iter()
        .map(|path| TrustedKey::from_file(path))
        .collect::<Result<Vec<_>, _>>()?;
    let identity = match (
        &input.certificate_identity,
        &input.certificate_identity_regexp,
        &input.certificate_oidc_issuer,
    ) {
        (None, None, None) => None,
        (Some(_), Some(_), _) => {
            return Err(SupplyError::Flags(
                "--certificate-identity and --certificate-identity-regexp exclude each other"
                    .to_string(),
            ));
        }
        (Some(exact), None, Some(issuer)) => Some(KeylessIdentity {
            identity: trust::IdentityPattern::Exact(exact.clone()),
            issuer: issuer.clone(),
        }),
        (None, Some(pattern), Some(issuer)) => Some(KeylessIdentity {
            identity: trust::IdentityPattern::regex(pattern)?,
            issuer: issuer.clone(),
        }),
        (_, _, None) => {
            return Err(SupplyError::Flags(
                "a certificate identity needs --certificate-oidc-issuer".to_string(),
            ));
        }
        (None, None, Some(_)) => {
            return Err(SupplyError::Flags(
                "--certificate-oidc-issuer needs --certificate-identity or --certificate-identity-regexp"
                    .to_string(),
            ));
        }
    };
    let flags = Policy::from_flags(keys, identity.into_iter().collect());
    let policy = match document {
        Some(document) => Policy::from_document(document, &flags)?,
        None => flags,
    };
    Ok((options, policy))
}
