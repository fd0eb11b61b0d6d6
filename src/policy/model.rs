//! The policy file's format, as one typed model: serde reads it, schemars derives the published
//! JSON Schema from it, and `check` walks documents against that schema. Every rule keeps its
//! span, so a finding can name the line that decided it. Nothing here judges a server.

use crate::rules::capabilities;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use std::borrow::Cow;
use std::path::PathBuf;
use toml::Spanned;

/// `mcp-audit.toml`: which images must be signed by whom, which servers the organisation trusts
/// at all (its perimeter), and which of those each agent's config may enable (its scope).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mcp-audit policy (mcp-audit.toml)")]
pub struct PolicyFile {
    /// The signature every container image must show; `[[images.rule]]` says more for some.
    #[serde(default)]
    pub images: ImagesSection,
    /// The trusted perimeter: what may run at all. Absent, no server is judged against one.
    #[serde(default)]
    #[schemars(with = "Option<Perimeter>")]
    pub perimeter: Option<Spanned<Perimeter>>,
    /// Each agent's scope: the first `[[scope]]` whose `configs` match a config file applies to it.
    #[serde(default, rename = "scope")]
    #[schemars(with = "Vec<Scope>")]
    pub scopes: Vec<Spanned<Scope>>,
}

/// `[images]`: the requirement for every image, and `[[images.rule]]` for some of them.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagesSection {
    /// Whether every image must carry an accepted signature. Default: true when keys or
    /// identities are named.
    pub require_signature: Option<bool>,
    /// PEM public keys that signatures are verified with, relative to the policy file.
    #[serde(default)]
    pub keys: Vec<PathBuf>,
    /// Keyless signers accepted: a certificate identity and its OIDC issuer.
    #[serde(default)]
    pub identities: Vec<IdentityEntry>,
    /// Requirements for some images; the first whose `server` and `image` match replaces `[images]`.
    #[serde(default, rename = "rule")]
    pub rules: Vec<ImageRuleEntry>,
}

/// A keyless signer: exactly one of `identity` and `identity_regexp`, and the issuer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityEntry {
    /// The exact certificate identity (an email or URI).
    pub identity: Option<String>,
    /// A regular expression the whole certificate identity must match.
    pub identity_regexp: Option<String>,
    /// The OIDC issuer the certificate must name.
    pub issuer: String,
}

/// `[[images.rule]]`: the signature requirement for the images of one server or image pattern.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageRuleEntry {
    /// The server's name in its config.
    pub server: Option<String>,
    /// An image pattern (`*` is any run of characters), matched with and without tag and digest.
    pub image: Option<String>,
    pub require_signature: Option<bool>,
    pub keys: Option<Vec<PathBuf>>,
    pub identities: Option<Vec<IdentityEntry>>,
}

/// `[perimeter]`: a server none of these admit is outside the perimeter; a denial always wins.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Perimeter {
    /// Whether servers launched on the host (`npx`, `uvx`, a binary) may run at all. Default:
    /// true when a `[[perimeter.host]]` is given, else false.
    #[schemars(with = "Option<bool>")]
    pub allow_host: Option<Spanned<bool>>,
    /// Whether remote servers (reached by URL) may be used at all. Default: true when a
    /// `[[perimeter.remote]]` is given, else false.
    #[schemars(with = "Option<bool>")]
    pub allow_remote: Option<Spanned<bool>>,
    /// Container images admitted.
    #[serde(default, rename = "image")]
    #[schemars(with = "Vec<ImageAllow>")]
    pub images: Vec<Spanned<ImageAllow>>,
    /// Host-launched servers admitted, by program and package.
    #[serde(default, rename = "host")]
    #[schemars(with = "Vec<HostAllow>")]
    pub hosts: Vec<Spanned<HostAllow>>,
    /// Remote servers admitted, by URL and transport.
    #[serde(default, rename = "remote")]
    #[schemars(with = "Vec<RemoteAllow>")]
    pub remotes: Vec<Spanned<RemoteAllow>>,
    /// Servers never allowed, whatever admits them.
    #[serde(default)]
    #[schemars(with = "Vec<Deny>")]
    pub deny: Vec<Spanned<Deny>>,
}

/// `[[perimeter.image]]`: images that may run, and what each must show.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageAllow {
    /// An image pattern, registry and repository (`ghcr.io/acme/*`, `mcp/fetch`), `*` for any
    /// run of characters; matched against the image as written, without its digest, and without
    /// tag and digest.
    pub image: String,
    /// The config must pin the image by digest (`image@sha256:…`).
    #[serde(default)]
    pub require_digest: bool,
    /// The only digests admitted (`sha256:…`), checked against the config's pin and, online,
    /// against the digest the registry resolved. Empty: any.
    #[serde(default)]
    pub digests: Vec<String>,
    /// PEM public keys the image must be signed with, relative to the policy file.
    pub keys: Option<Vec<PathBuf>>,
    /// Keyless signers the image must be signed by.
    pub identities: Option<Vec<IdentityEntry>>,
}

/// `[[perimeter.host]]`: a program run on the host, and the package it fetches.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostAllow {
    /// The program: `npx`, `uvx`, or a binary's path; `*` for any run of characters.
    pub command: String,
    /// The package a runner fetches (`@modelcontextprotocol/server-filesystem`), a pattern.
    /// Absent: the program itself is admitted, whatever it runs.
    pub package: Option<String>,
    /// Versions admitted (`1.2.3`, `1.*`). Empty: any version, or none.
    #[serde(default)]
    pub versions: Vec<String>,
}

/// `[[perimeter.remote]]`: remote servers by URL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteAllow {
    /// A URL pattern (`https://mcp.acme.com/*`), matched without the query string.
    pub url: String,
    /// Transports admitted. Empty: any, including a config that names none.
    #[serde(default)]
    pub transports: Vec<TransportName>,
}

/// A remote server's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TransportName {
    StreamableHttp,
    Sse,
}

impl TransportName {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportName::StreamableHttp => "streamable-http",
            TransportName::Sse => "sse",
        }
    }
}

/// `[[perimeter.deny]]`: a server matched by every selector given is denied.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deny {
    /// A server name pattern.
    pub server: Option<String>,
    /// An image pattern, as in `[[perimeter.image]]`.
    pub image: Option<String>,
    /// A host package pattern.
    pub package: Option<String>,
    /// A remote URL pattern.
    pub url: Option<String>,
    /// Why, shown in the finding.
    pub reason: Option<String>,
}

/// `[[scope]]`: what one agent's configs may enable.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Config paths this scope applies to (`agents/support/**`, `.vscode/mcp.json`), relative to
    /// the current directory or to the policy file; `*` within a directory, `**` across them.
    pub configs: Vec<String>,
    /// Server name patterns the agent may enable.
    #[serde(default)]
    pub servers: Vec<String>,
    /// Image patterns the agent may enable. With `servers` empty too, any server in the
    /// perimeter may be enabled.
    #[serde(default)]
    pub images: Vec<String>,
    /// The most servers the config may enable.
    #[schemars(with = "Option<u32>")]
    pub max_servers: Option<Spanned<u32>>,
    /// Tool name patterns the agent must not have.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub deny_tools: Vec<Spanned<String>>,
    /// Capabilities the agent's tools must not have (`exec`, `file-write`, …; see
    /// `rules/capabilities.yaml`).
    #[serde(default)]
    #[schemars(with = "Vec<CapabilityName>")]
    pub deny_capabilities: Vec<Spanned<String>>,
}

/// A capability the built-in lexicon infers: the schema lists them, so editors complete them
/// and `policy check` refuses a misspelt one.
pub struct CapabilityName;

impl JsonSchema for CapabilityName {
    fn schema_name() -> Cow<'static, str> {
        "Capability".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = capabilities::BUILTIN
            .entries()
            .map(|e| e.name.as_str())
            .collect();
        json_schema!({
            "type": "string",
            "enum": names,
            "description": "A capability inferred from a tool's name, description and schema."
        })
    }
}
