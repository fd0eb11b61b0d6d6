//! `mcp-audit policy init`: a policy that admits exactly what the given configs use today (and,
//! from the lockfile beside them, the digests and signers it recorded), commented, so a team
//! starts from where it is and tightens from there. It writes text; the caller decides where.

use super::pattern::{image_digest, image_name};
use crate::config::lint::host_package;
use crate::config::{ConfigFile, Launch, Server, Transport, secrets};
use crate::lockfile::{self, Lockfile};
use crate::registry::TrustedKey;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a lockfile recorded for one server's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedImage {
    /// The config that declares the server, as `ConfigFile::path` shows it.
    pub config: String,
    /// The server's name in that config.
    pub server: String,
    /// The platform manifest's digest, `sha256:…`.
    pub digest: String,
    /// The signer that verified, if the image was signed.
    pub signer: Option<LockedSigner>,
}

/// A signer as a lockfile records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockedSigner {
    /// A public key file with the recorded fingerprint, relative to the policy's directory.
    Key(String),
    /// A key's fingerprint (`key sha256:…`) that no key file near the policy has: a policy
    /// can only require a key it can read, so this becomes a comment to act on.
    UnknownKey(String),
    /// A keyless certificate's identity and OIDC issuer.
    Keyless { identity: String, issuer: String },
}

impl LockedSigner {
    /// A lockfile's `signer`: `key sha256:…` for a key, found among `keys` (fingerprint and
    /// file), else a keyless signature's `identity (issuer)`.
    fn parse(recorded: &str, keys: &[(String, String)]) -> LockedSigner {
        if recorded.starts_with("key sha256:") {
            return match keys.iter().find(|(id, _)| id == recorded) {
                Some((_, file)) => LockedSigner::Key(file.clone()),
                None => LockedSigner::UnknownKey(recorded.to_string()),
            };
        }
        match recorded.rfind(" (") {
            Some(open) if recorded.ends_with(')') => LockedSigner::Keyless {
                identity: recorded[..open].to_string(),
                issuer: recorded[open + 2..recorded.len() - 1].to_string(),
            },
            _ => LockedSigner::UnknownKey(recorded.to_string()),
        }
    }
}

/// The public keys (`*.pub`, `*.pem`) in the policy's and the lockfile's directories and their
/// `keys/` folders, by fingerprint, each named relative to the policy's directory.
fn key_files(dirs: &[&Path], policy_dir: &Path) -> Vec<(String, String)> {
    let base = std::fs::canonicalize(policy_dir).ok();
    let mut found: Vec<(String, String)> = Vec::new();
    for dir in dirs.iter().flat_map(|d| [d.to_path_buf(), d.join("keys")]) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let is_key = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pub" | "pem")
            );
            let Some(key) = is_key.then(|| TrustedKey::from_file(&path).ok()).flatten() else {
                continue;
            };
            let absolute = std::fs::canonicalize(&path).unwrap_or(path);
            let shown = base
                .as_deref()
                .and_then(|b| absolute.strip_prefix(b).ok())
                .map_or_else(
                    || absolute.to_string_lossy().into_owned(),
                    |p| p.to_string_lossy().replace('\\', "/"),
                );
            if !found.iter().any(|(id, _)| *id == key.id) {
                found.push((key.id, shown));
            }
        }
    }
    found
}

/// The images `lockfile` (read from `lock_path`) recorded for the servers of `configs`: each
/// server's entry found by its config and name, as `scan` compares them.
pub fn locked_images(
    lock_path: &Path,
    lockfile: &Lockfile,
    configs: &[ConfigFile],
    policy_dir: &Path,
) -> Vec<LockedImage> {
    let lock_dir = lock_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let keys = key_files(&[policy_dir, lock_dir], policy_dir);
    let mut found = Vec::new();
    for file in configs {
        let key = lockfile::config_key(lock_path, &file.path);
        for server in &file.servers {
            let Some(entry) = lockfile.get((Some(&key), &server.name)) else {
                continue;
            };
            let Some(digest) = &entry.digest else {
                continue;
            };
            found.push(LockedImage {
                config: file.path.clone(),
                server: server.name.clone(),
                digest: digest.clone(),
                signer: entry
                    .signer
                    .as_deref()
                    .map(|s| LockedSigner::parse(s, &keys)),
            });
        }
    }
    found
}

/// One admitted entry, and the servers it was written for.
struct Entry {
    body: String,
    servers: Vec<String>,
    notes: Vec<String>,
}

/// The policy text for `configs`; config paths in scopes are written relative to `policy_dir`
/// when under it.
pub fn write_policy(configs: &[ConfigFile], policy_dir: &Path, locked: &[LockedImage]) -> String {
    let mut images: BTreeMap<String, Admitted> = BTreeMap::new();
    let mut hosts: BTreeMap<String, Entry> = BTreeMap::new();
    let mut remotes: BTreeMap<String, Entry> = BTreeMap::new();
    let mut skipped = Vec::new();
    for file in configs {
        for server in &file.servers {
            let who = format!("`{}` ({})", server.name, file.path);
            let lock = locked
                .iter()
                .find(|l| l.config == file.path && l.server == server.name);
            let (map, key, body, note) = match &server.launch {
                Launch::Container { docker_run, .. } => {
                    let Some(image) = docker_run.image.as_ref().map(|i| i.text.as_str()) else {
                        skipped.push(format!("{who}: a container without an image"));
                        continue;
                    };
                    if image.contains(['{', '$', '<']) {
                        skipped.push(format!("{who}: the image `{image}` is a template"));
                        continue;
                    }
                    let written = image.split('@').next().unwrap_or(image).to_string();
                    let admitted = images.entry(written.clone()).or_insert_with(|| Admitted {
                        image: written,
                        servers: Vec::new(),
                        pinned: true,
                        digests: Vec::new(),
                        signers: Vec::new(),
                    });
                    admitted.servers.push(who);
                    admitted.pinned &= image_digest(image).is_some();
                    let digests = image_digest(image)
                        .map(str::to_string)
                        .into_iter()
                        .chain(lock.map(|l| l.digest.clone()));
                    for digest in digests {
                        if !admitted.digests.contains(&digest) {
                            admitted.digests.push(digest);
                        }
                    }
                    if let Some(signer) = lock.and_then(|l| l.signer.clone())
                        && !admitted.signers.contains(&signer)
                    {
                        admitted.signers.push(signer);
                    }
                    continue;
                }
                Launch::Host { command, args, .. } => {
                    let (body, note) = host_entry(server, command, args);
                    (&mut hosts, body.clone(), body, note)
                }
                Launch::Remote { url, transport } => {
                    let url = url.value.split(['?', '#']).next().unwrap_or(&url.value);
                    let mut body = format!("url = {}\n", quote(url));
                    match transport {
                        Transport::StreamableHttp => {
                            body.push_str("transports = [\"streamable-http\"]\n");
                        }
                        Transport::Sse => body.push_str("transports = [\"sse\"]\n"),
                        Transport::Unspecified => {}
                    }
                    (&mut remotes, body.clone(), body, None)
                }
            };
            let entry = map.entry(key).or_insert_with(|| Entry {
                body,
                servers: Vec::new(),
                notes: Vec::new(),
            });
            entry.servers.push(who);
            entry.notes.extend(note);
        }
    }

    let names: Vec<&str> = configs.iter().map(|f| f.path.as_str()).collect();
    let mut out = String::new();
    out.push_str(
        "# mcp-audit policy: the organisation's trusted perimeter and each agent's scope.\n",
    );
    out.push_str(&format!(
        "# Written by `mcp-audit policy init` from {}: it admits exactly what {} today.\n",
        names.join(", "),
        if names.len() == 1 {
            "it uses"
        } else {
            "they use"
        }
    ));
    out.push_str(
        "# Tighten it, commit it, and run `mcp-audit scan` in CI: a server outside the perimeter\n\
         # is a `policy` finding on its config entry, naming the line here that decided.\n\
         # `mcp-audit policy check` validates this file; its JSON Schema is\n\
         # schemas/mcp-audit.policy.schema.json in the mcp-audit repository.\n\n",
    );
    out.push_str("[perimeter]\n");
    out.push_str(
        "# Servers launched on the host (npx, uvx, a binary) run with the user's privileges.\n",
    );
    out.push_str(&format!("allow_host = {}\n", !hosts.is_empty()));
    out.push_str("# Remote servers, reached by URL: their code is out of reach of any audit.\n");
    out.push_str(&format!("allow_remote = {}\n", !remotes.is_empty()));
    for admitted in images.values() {
        out.push('\n');
        out.push_str(&admitted.render());
    }
    for (kind, map) in [("perimeter.host", &hosts), ("perimeter.remote", &remotes)] {
        for entry in map.values() {
            out.push('\n');
            out.push_str(&format!("# {}\n", entry.servers.join(", ")));
            for note in &entry.notes {
                out.push_str(&format!("# {note}\n"));
            }
            out.push_str(&format!("[[{kind}]]\n"));
            out.push_str(&entry.body);
        }
    }
    out.push_str(
        "\n# A denial wins over everything that admits a server. For example:\n\
         # [[perimeter.deny]]\n\
         # image = \"docker.io/unknown-publisher/*\"\n\
         # reason = \"not reviewed\"\n",
    );
    for file in configs {
        let names: Vec<String> = file.servers.iter().map(|s| quote(&s.name)).collect();
        out.push('\n');
        out.push_str(&format!(
            "# The agent of {}: the servers it enables today, and no more.\n",
            file.path
        ));
        out.push_str("[[scope]]\n");
        out.push_str(&format!(
            "configs = [{}]\n",
            quote(&scope_path(&file.path, policy_dir))
        ));
        out.push_str(&format!("servers = [{}]\n", names.join(", ")));
        out.push_str(&format!("max_servers = {}\n", file.servers.len()));
        out.push_str(
            "# Tools this agent must not have, by name or inferred capability:\n\
             # deny_capabilities = [\"exec\"]\n",
        );
    }
    if !skipped.is_empty() {
        out.push_str("\n# Not admitted (nothing to name them by):\n");
        for reason in skipped {
            out.push_str(&format!("# {reason}\n"));
        }
    }
    // The policy is committed: a credential in a package URL or a remote's URL stays out of it.
    secrets::redact_text(&out)
}

/// One image admitted, with every digest and signer its servers showed.
struct Admitted {
    image: String,
    servers: Vec<String>,
    /// Every server pins it by digest.
    pinned: bool,
    digests: Vec<String>,
    signers: Vec<LockedSigner>,
}

impl Admitted {
    fn render(&self) -> String {
        let mut out = format!("# {}\n", self.servers.join(", "));
        if self.digests.is_empty() {
            out.push_str(&format!(
                "# not pinned today: any digest of `{}` is admitted; pin it and add `require_digest = true`\n",
                image_name(&self.image)
            ));
        }
        out.push_str("[[perimeter.image]]\n");
        out.push_str(&format!("image = {}\n", quote(&self.image)));
        if self.pinned {
            out.push_str("require_digest = true\n");
        }
        if !self.digests.is_empty() {
            let quoted: Vec<String> = self.digests.iter().map(|d| quote(d)).collect();
            out.push_str(&format!("digests = [{}]\n", quoted.join(", ")));
        }
        let keys: Vec<String> = self
            .signers
            .iter()
            .filter_map(|s| match s {
                LockedSigner::Key(path) => Some(quote(path)),
                _ => None,
            })
            .collect();
        if !keys.is_empty() {
            out.push_str(&format!("keys = [{}]\n", keys.join(", ")));
        }
        let identities: Vec<String> = self
            .signers
            .iter()
            .filter_map(|s| match s {
                LockedSigner::Keyless { identity, issuer } => Some(format!(
                    "{{ identity = {}, issuer = {} }}",
                    quote(identity),
                    quote(issuer)
                )),
                _ => None,
            })
            .collect();
        if !identities.is_empty() {
            out.push_str(&format!("identities = [{}]\n", identities.join(", ")));
        }
        for signer in &self.signers {
            if let LockedSigner::UnknownKey(id) = signer {
                out.push_str(&format!(
                    "# locked as signed by `{id}`, a key not found beside the policy: name its PEM file in `keys` to require it\n"
                ));
            }
        }
        out
    }
}

fn host_entry(
    server: &Server,
    command: &crate::config::Located<String>,
    args: &[crate::config::Located<String>],
) -> (String, Option<String>) {
    let (program, spec) = host_package(command, args);
    let Some(spec) = spec else {
        let note = format!(
            "`{}` runs `{}` itself: pin what it runs by path",
            server.name, command.value
        );
        return (format!("command = {}\n", quote(&command.value)), Some(note));
    };
    let package = super::enforce::split_package(&spec.value);
    let mut body = format!(
        "command = {}\npackage = {}\n",
        quote(&program),
        quote(&package.name)
    );
    if let Some(version) = &package.version {
        body.push_str(&format!("versions = [{}]\n", quote(version)));
    }
    let note = package.version.is_none().then(|| {
        format!(
            "unpinned today: any version of `{}` is admitted; pin one and list it in `versions`",
            package.name
        )
    });
    (body, note)
}

/// A config path as a scope pattern: relative to the policy's directory when under it.
fn scope_path(shown: &str, policy_dir: &Path) -> String {
    let relative = std::fs::canonicalize(shown).ok().and_then(|path| {
        let base = std::fs::canonicalize(policy_dir).ok()?;
        path.strip_prefix(base)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
    });
    relative.unwrap_or_else(|| shown.trim_start_matches("./").to_string())
}

/// A TOML basic string: JSON's escaping is valid TOML.
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}
