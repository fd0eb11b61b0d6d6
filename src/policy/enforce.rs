//! Holding every server of the configs to the policy: the perimeter (what the organisation runs
//! at all) and each config's scope (what that agent needs). Each finding is located on the
//! server's entry and names the policy line that decided it. It reads configs, the registry
//! stage's results and captures; it resolves, runs and verifies nothing itself.

use super::PolicyDocument;
use super::model::{Deny, HostAllow, ImageAllow, Perimeter, RemoteAllow, Scope};
use super::pattern::{Pattern, image_digest};
use crate::capture::Capture;
use crate::config::lint::host_package;
use crate::config::{ConfigFile, Launch, Server, Transport};
use crate::finding::Finding;
use crate::registry::ImageAudit;
use crate::rules::RuleSet;
use crate::rules::capabilities;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// No rule of the perimeter admits the server.
pub const OUTSIDE_PERIMETER: &str = "MCP701";
/// A `[[perimeter.deny]]` matches the server.
pub const DENIED: &str = "MCP702";
/// A host-launched server where the perimeter allows none.
pub const HOST_FORBIDDEN: &str = "MCP703";
/// A remote server where the perimeter allows none.
pub const REMOTE_FORBIDDEN: &str = "MCP704";
/// The admitting rule requires a digest pin and the config has none.
pub const DIGEST_UNPINNED: &str = "MCP705";
/// The image's digest (pinned, or resolved online) is not one the admitting rule lists.
pub const DIGEST_NOT_ADMITTED: &str = "MCP706";
/// Online, the image lacks a verified signature by the signer its admitting rule requires.
pub const SIGNER_NOT_VERIFIED: &str = "MCP707";
/// The server is in the perimeter but not in its config's scope.
pub const BEYOND_SCOPE: &str = "MCP710";
/// The config enables more servers than its scope's cap.
pub const OVER_SCOPE_CAP: &str = "MCP711";
/// A tool the scope forbids, by name or by an inferred capability.
pub const FORBIDDEN_TOOL: &str = "MCP712";

/// An `mcp-audit.toml` beside a config that is not the policy governing the run.
pub const IGNORED_POLICY: &str = "MCP720";

/// Every rule this module can raise; each must exist in the built-in rule set.
pub const RULE_IDS: &[&str] = &[
    OUTSIDE_PERIMETER,
    DENIED,
    HOST_FORBIDDEN,
    REMOTE_FORBIDDEN,
    DIGEST_UNPINNED,
    DIGEST_NOT_ADMITTED,
    SIGNER_NOT_VERIFIED,
    BEYOND_SCOPE,
    OVER_SCOPE_CAP,
    FORBIDDEN_TOOL,
    IGNORED_POLICY,
];

/// What the pipeline knows of the servers when the policy is enforced.
pub struct Subjects<'a> {
    pub configs: &'a [ConfigFile],
    /// Live captures (located on their entry) and saved ones (`--tools`, matched by name).
    pub captures: &'a [Capture],
    /// The registry stage's results; empty when offline.
    pub images: &'a [ImageAudit],
}

/// Every policy finding about the subjects.
pub fn enforce(policy: &PolicyDocument, subjects: &Subjects<'_>, rules: &RuleSet) -> Vec<Finding> {
    let mut judge = Judge {
        policy,
        rules,
        findings: Vec::new(),
    };
    for file in subjects.configs {
        for server in &file.servers {
            judge.perimeter(server, subjects.images);
        }
        if let Some(scope) = judge.scope_of(&file.path) {
            judge.scope(file, scope, subjects.captures);
        }
    }
    judge.findings
}

/// One finding for each policy file found beside a config and not applied, since `policy`
/// governs the run.
pub fn ignored_policies(
    policy: &PolicyDocument,
    ignored: &[std::path::PathBuf],
    rules: &RuleSet,
) -> Vec<Finding> {
    ignored
        .iter()
        .filter_map(|path| {
            let message = format!(
                "nested policy ignored; the root policy {} governs every config of the run",
                policy.shown
            );
            // Like other findings about a file rather than a server, it is named by the file.
            let shown = path.display().to_string();
            let finding = rules.finding(IGNORED_POLICY, &shown, message)?;
            Some(finding.location(Some(crate::finding::Location::file(shown))))
        })
        .collect()
}

/// How a server is started, in the terms a policy speaks.
enum Subject<'a> {
    Image(&'a str),
    Host {
        program: String,
        command: &'a str,
        package: Option<Package>,
    },
    Remote {
        url: &'a str,
        transport: Transport,
    },
}

/// A package a host runner fetches: `@scope/pkg@1.2.3` → name and version.
pub(crate) struct Package {
    pub name: String,
    pub version: Option<String>,
}

impl<'a> Subject<'a> {
    fn of(server: &'a Server) -> Option<Subject<'a>> {
        match &server.launch {
            Launch::Container { docker_run, .. } => {
                docker_run.image.as_ref().map(|i| Subject::Image(&i.text))
            }
            Launch::Host { command, args, .. } => {
                let (program, spec) = host_package(command, args);
                Some(Subject::Host {
                    program,
                    command: &command.value,
                    package: spec.map(|spec| split_package(&spec.value)),
                })
            }
            Launch::Remote { url, transport } => Some(Subject::Remote {
                url: without_query(&url.value),
                transport: *transport,
            }),
        }
    }

    /// The text a finding shows as its evidence.
    fn evidence(&self) -> String {
        match self {
            Subject::Image(image) => image.to_string(),
            Subject::Host {
                command, package, ..
            } => match package {
                Some(Package {
                    name,
                    version: Some(version),
                }) => format!("{name}@{version}"),
                Some(package) => package.name.clone(),
                None => command.to_string(),
            },
            Subject::Remote { url, .. } => url.to_string(),
        }
    }

    fn field(&self) -> &'static str {
        match self {
            Subject::Image(_) => "image",
            Subject::Host { package: None, .. } => "command",
            Subject::Host { .. } => "args",
            Subject::Remote { .. } => "url",
        }
    }
}

/// A URL without its query and fragment, where secrets are most often passed.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Split a runner's package spec into name and version: `pkg@1`, `@scope/pkg@1`, `pkg==1`,
/// `npm:pkg@1`; a range (`pkg>=1`) is kept whole as the version.
pub(crate) fn split_package(spec: &str) -> Package {
    let spec = spec
        .strip_prefix("npm:")
        .or_else(|| spec.strip_prefix("jsr:"))
        .unwrap_or(spec);
    // A package fetched from a URL is named by the URL without its credentials: they do not
    // change what runs, and the policy naming it is committed.
    let without_credentials;
    let spec = match spec.split_once("://") {
        Some((scheme, rest)) => {
            let host_end = rest.find('/').unwrap_or(rest.len());
            let at = rest[..host_end].rfind('@').map_or(0, |at| at + 1);
            without_credentials = format!("{scheme}://{}", &rest[at..]);
            without_credentials.as_str()
        }
        None => spec,
    };
    if let Some((name, version)) = spec.split_once("==") {
        return Package {
            name: name.to_string(),
            version: Some(version.to_string()),
        };
    }
    if let Some(at) = spec.rfind('@').filter(|&i| i > 0) {
        return Package {
            name: spec[..at].to_string(),
            version: Some(spec[at + 1..].to_string()),
        };
    }
    match spec.find(['>', '<', '~', '!', '=']) {
        Some(i) => Package {
            name: spec[..i].to_string(),
            version: Some(spec[i..].to_string()),
        },
        None => Package {
            name: spec.to_string(),
            version: None,
        },
    }
}

struct Judge<'a> {
    policy: &'a PolicyDocument,
    rules: &'a RuleSet,
    findings: Vec<Finding>,
}

/// Whether a policy pattern matches; patterns were checked when the policy was read.
fn matches(pattern: &str, text: &str) -> bool {
    Pattern::glob(pattern).is_ok_and(|p| p.matches(text))
}

fn matches_image(pattern: &str, image: &str) -> bool {
    Pattern::glob(pattern).is_ok_and(|p| p.matches_image(image))
}

impl<'a> Judge<'a> {
    /// "mcp-audit.toml:12 (`[[perimeter.deny]]` image = "evil/*")"
    fn decided(&self, span: &Range<usize>, rule: &str) -> String {
        format!(
            "decided by {}:{} ({rule})",
            self.policy.shown,
            self.policy.line(span)
        )
    }

    fn raise(&mut self, id: &str, server: &Server, subject: &Subject<'_>, message: String) {
        if let Some(finding) = self.rules.finding(id, &server.name, message) {
            self.findings.push(
                finding
                    .field(subject.field())
                    .evidence(&subject.evidence())
                    .location(Some(server.location.clone())),
            );
        }
    }

    fn perimeter(&mut self, server: &Server, images: &[ImageAudit]) {
        let Some(subject) = Subject::of(server) else {
            return;
        };
        let Some(perimeter) = self.policy.file.perimeter.as_ref() else {
            // Denials need a `[perimeter]` to live in; without one nothing is judged.
            return;
        };
        let whole = perimeter.span();
        let perimeter = perimeter.get_ref();
        if let Some(deny) = perimeter
            .deny
            .iter()
            .find(|d| denies(d.get_ref(), server, &subject))
        {
            let reason = deny
                .get_ref()
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {r}"));
            let message = format!(
                "`{}` is denied by the policy{reason}; {}",
                subject.evidence(),
                self.decided(&deny.span(), &deny_text(deny.get_ref()))
            );
            self.raise(DENIED, server, &subject, message);
            return;
        }
        match &subject {
            Subject::Image(image) => self.image(server, &subject, image, perimeter, &whole, images),
            Subject::Host {
                program, package, ..
            } => {
                let (allowed, span, said) = match &perimeter.allow_host {
                    Some(flag) => (*flag.get_ref(), flag.span(), "allow_host"),
                    None => (!perimeter.hosts.is_empty(), whole.clone(), "[perimeter]"),
                };
                if !allowed {
                    let rule = if said == "allow_host" {
                        "`allow_host = false`".to_string()
                    } else {
                        "`[perimeter]` without `allow_host` or `[[perimeter.host]]`".to_string()
                    };
                    let message = format!(
                        "`{program}` runs on the host, and the perimeter admits no host server; {}",
                        self.decided(&span, &rule)
                    );
                    self.raise(HOST_FORBIDDEN, server, &subject, message);
                } else if !perimeter
                    .hosts
                    .iter()
                    .any(|h| admits_host(h.get_ref(), program, &subject, package.as_ref()))
                {
                    let message = format!(
                        "`{}` run by `{program}` is outside the perimeter: no `[[perimeter.host]]` admits it; {}",
                        subject.evidence(),
                        self.candidates(&perimeter.hosts, "[[perimeter.host]]", &span)
                    );
                    self.raise(OUTSIDE_PERIMETER, server, &subject, message);
                }
            }
            Subject::Remote { url, transport } => {
                let (allowed, span, said) = match &perimeter.allow_remote {
                    Some(flag) => (*flag.get_ref(), flag.span(), true),
                    None => (!perimeter.remotes.is_empty(), whole.clone(), false),
                };
                if !allowed {
                    let rule = if said {
                        "`allow_remote = false`"
                    } else {
                        "`[perimeter]` without `allow_remote` or `[[perimeter.remote]]`"
                    };
                    let message = format!(
                        "`{url}` is a remote server, and the perimeter admits none; {}",
                        self.decided(&span, rule)
                    );
                    self.raise(REMOTE_FORBIDDEN, server, &subject, message);
                } else if !perimeter
                    .remotes
                    .iter()
                    .any(|r| admits_remote(r.get_ref(), url, *transport))
                {
                    let message = format!(
                        "`{url}` is outside the perimeter: no `[[perimeter.remote]]` admits it with its transport; {}",
                        self.candidates(&perimeter.remotes, "[[perimeter.remote]]", &span)
                    );
                    self.raise(OUTSIDE_PERIMETER, server, &subject, message);
                }
            }
        }
    }

    /// "decided by mcp-audit.toml:4, 9 (`[[perimeter.image]]`)", or the perimeter's own line
    /// when it has no rule of the kind.
    fn candidates<T>(&self, entries: &[Spanned<T>], kind: &str, whole: &Range<usize>) -> String {
        if entries.is_empty() {
            return self.decided(whole, &format!("`[perimeter]`, which has no `{kind}`"));
        }
        let lines: Vec<String> = entries
            .iter()
            .map(|e| self.policy.line(&e.span()).to_string())
            .collect();
        format!(
            "decided by {}:{} (`{kind}`)",
            self.policy.shown,
            lines.join(", ")
        )
    }

    fn image(
        &mut self,
        server: &Server,
        subject: &Subject<'_>,
        image: &str,
        perimeter: &Perimeter,
        whole: &Range<usize>,
        images: &[ImageAudit],
    ) {
        let Some(entry) = perimeter
            .images
            .iter()
            .find(|e| matches_image(&e.get_ref().image, image))
        else {
            let message = format!(
                "image `{image}` is outside the perimeter: no `[[perimeter.image]]` admits it; {}",
                self.candidates(&perimeter.images, "[[perimeter.image]]", whole)
            );
            self.raise(OUTSIDE_PERIMETER, server, subject, message);
            return;
        };
        let allow: &ImageAllow = entry.get_ref();
        let span = entry.span();
        let rule = format!("`[[perimeter.image]]` image = {:?}", allow.image);
        let pinned = image_digest(image);
        if allow.require_digest && pinned.is_none() {
            let message = format!(
                "image `{image}` is not pinned by digest, and the perimeter requires it; {}",
                self.decided(&span, &rule)
            );
            self.raise(DIGEST_UNPINNED, server, subject, message);
        }
        let audit = images.iter().find(|a| a.entry == server.location);
        if !allow.digests.is_empty() {
            let resolved = audit.and_then(|a| a.resolved.as_ref());
            let admitted = |digest: &str| allow.digests.iter().any(|d| d == digest);
            let offending = match (pinned, resolved) {
                (Some(pin), _) if !admitted(pin) => Some(pin.to_string()),
                (_, Some(resolved))
                    if !admitted(&resolved.digest)
                        && !resolved.index_digest.as_deref().is_some_and(admitted) =>
                {
                    Some(resolved.digest.clone())
                }
                _ => None,
            };
            if let Some(digest) = offending {
                let message = format!(
                    "image `{image}` is `{digest}`, not a digest the perimeter admits; {}",
                    self.decided(&span, &rule)
                );
                self.raise(DIGEST_NOT_ADMITTED, server, subject, message);
            }
        }
        let signers = allow.keys.is_some() || allow.identities.is_some();
        if signers
            && let Some(signature) = audit.and_then(|a| a.signature.as_ref())
            && !signature.verified
        {
            let why = signature
                .error
                .as_deref()
                .map_or(String::new(), |e| format!(" ({e})"));
            let message = format!(
                "image `{image}` has no verified signature by a signer the perimeter requires{why}; {}",
                self.decided(&span, &rule)
            );
            self.raise(SIGNER_NOT_VERIFIED, server, subject, message);
        }
    }

    /// The first `[[scope]]` whose `configs` match the config's path, as shown or relative to
    /// the policy's directory.
    fn scope_of(&self, path: &str) -> Option<&'a Spanned<Scope>> {
        let relative = relative_to(Path::new(path), &self.policy.base);
        self.policy.file.scopes.iter().find(|scope| {
            scope.get_ref().configs.iter().any(|text| {
                Pattern::path(text).is_ok_and(|p| {
                    p.matches(path.trim_start_matches("./"))
                        || relative.as_deref().is_some_and(|r| p.matches(r))
                })
            })
        })
    }

    fn scope(&mut self, file: &ConfigFile, entry: &Spanned<Scope>, captures: &[Capture]) {
        let scope = entry.get_ref();
        let span = entry.span();
        let configs = format!("`[[scope]]` configs = {:?}", scope.configs);
        let restricted = !scope.servers.is_empty() || !scope.images.is_empty();
        for (index, server) in file.servers.iter().enumerate() {
            let Some(subject) = Subject::of(server) else {
                continue;
            };
            let listed = scope.servers.iter().any(|p| matches(p, &server.name))
                || matches!(subject, Subject::Image(image)
                    if scope.images.iter().any(|p| matches_image(p, image)));
            if restricted && !listed {
                let message = format!(
                    "`{}` is not in the scope of {}: this agent does not need it; {}",
                    server.name,
                    file.path,
                    self.decided(&span, &configs)
                );
                self.raise(BEYOND_SCOPE, server, &subject, message);
            }
            if let Some(cap) = &scope.max_servers
                && index >= *cap.get_ref() as usize
            {
                let message = format!(
                    "`{}` is server {} of {} in {}, over the scope's cap of {}; {}",
                    server.name,
                    index + 1,
                    file.servers.len(),
                    file.path,
                    cap.get_ref(),
                    self.decided(&cap.span(), &format!("`max_servers = {}`", cap.get_ref()))
                );
                self.raise(OVER_SCOPE_CAP, server, &subject, message);
            }
            if scope.deny_tools.is_empty() && scope.deny_capabilities.is_empty() {
                continue;
            }
            // A live capture is its entry's; a saved one (`--tools`) is the server of its name.
            let offered = captures.iter().filter(|c| match &c.location {
                Some(location) => *location == server.location,
                None => c.server == server.name,
            });
            for capture in offered {
                for tool in &capture.tools {
                    self.tool(server, tool, scope);
                }
            }
        }
    }

    fn tool(&mut self, server: &Server, tool: &serde_json::Value, scope: &Scope) {
        let name = tool.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let mut raised: Vec<(String, String, String)> = Vec::new();
        for pattern in &scope.deny_tools {
            if matches(pattern.get_ref(), name) {
                raised.push((
                    format!("tool `{name}` is forbidden to this agent by name"),
                    self.decided(
                        &pattern.span(),
                        &format!("`[[scope]]` deny_tools = {:?}", pattern.get_ref()),
                    ),
                    name.to_string(),
                ));
            }
        }
        let profile = capabilities::BUILTIN.profile(tool);
        for denied in &scope.deny_capabilities {
            let Some(found) = profile
                .capabilities
                .iter()
                .find(|c| c.capability == *denied.get_ref())
            else {
                continue;
            };
            let words: Vec<&str> = found.evidence.iter().map(|e| e.words.as_str()).collect();
            raised.push((
                format!(
                    "tool `{name}` has the capability `{}`, which this agent must not have",
                    denied.get_ref()
                ),
                self.decided(
                    &denied.span(),
                    &format!("`[[scope]]` deny_capabilities = {:?}", denied.get_ref()),
                ),
                words.join(", "),
            ));
        }
        for (what, decided, evidence) in raised {
            if let Some(finding) =
                self.rules
                    .finding(FORBIDDEN_TOOL, &server.name, format!("{what}; {decided}"))
            {
                self.findings.push(
                    finding
                        .tool(Some(name))
                        .field("name")
                        .evidence(&evidence)
                        .location(Some(server.location.clone())),
                );
            }
        }
    }
}

/// `path` relative to `base` when it is under it, both made absolute first.
fn relative_to(path: &Path, base: &Path) -> Option<String> {
    let path = std::fs::canonicalize(path).ok()?;
    let base = std::fs::canonicalize(base).ok()?;
    let relative = path.strip_prefix(base).ok()?;
    Some(relative.to_string_lossy().replace('\\', "/"))
}

/// Whether every selector a denial gives matches the server.
fn denies(deny: &Deny, server: &Server, subject: &Subject<'_>) -> bool {
    let server_ok = deny
        .server
        .as_deref()
        .is_none_or(|p| matches(p, &server.name));
    let image_ok = deny
        .image
        .as_deref()
        .is_none_or(|p| matches!(subject, Subject::Image(image) if matches_image(p, image)));
    let package_ok = deny.package.as_deref().is_none_or(|p| {
        matches!(subject, Subject::Host { package: Some(package), .. } if matches(p, &package.name))
    });
    let url_ok = deny
        .url
        .as_deref()
        .is_none_or(|p| matches!(subject, Subject::Remote { url, .. } if matches(p, url)));
    server_ok && image_ok && package_ok && url_ok
}

/// How a denial is shown: its selectors as written.
fn deny_text(deny: &Deny) -> String {
    let mut parts = Vec::new();
    for (key, value) in [
        ("server", &deny.server),
        ("image", &deny.image),
        ("package", &deny.package),
        ("url", &deny.url),
    ] {
        if let Some(value) = value {
            parts.push(format!("{key} = {value:?}"));
        }
    }
    format!("`[[perimeter.deny]]` {}", parts.join(", "))
}

fn admits_host(
    allow: &HostAllow,
    program: &str,
    subject: &Subject<'_>,
    package: Option<&Package>,
) -> bool {
    let command = match subject {
        Subject::Host { command, .. } => *command,
        _ => return false,
    };
    if !(matches(&allow.command, program) || matches(&allow.command, command)) {
        return false;
    }
    let Some(wanted) = &allow.package else {
        return true;
    };
    let Some(package) = package else {
        return false;
    };
    matches(wanted, &package.name)
        && (allow.versions.is_empty()
            || package
                .version
                .as_deref()
                .is_some_and(|v| allow.versions.iter().any(|p| matches(p, v))))
}

fn admits_remote(allow: &RemoteAllow, url: &str, transport: Transport) -> bool {
    if !matches(without_query(&allow.url), url) {
        return false;
    }
    allow.transports.is_empty()
        || allow.transports.iter().any(|t| match transport {
            Transport::StreamableHttp => t.as_str() == "streamable-http",
            Transport::Sse => t.as_str() == "sse",
            Transport::Unspecified => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syntax::Syntax;
    use crate::registry::{ResolvedImage, SignatureOutcome};

    const PINNED: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn every_rule_raised_here_is_documented_in_the_policy_rules() {
        let set = RuleSet::load(&[]).unwrap();
        for id in RULE_IDS {
            let rule = set.get(id).unwrap_or_else(|| panic!("{id} is not a rule"));
            assert!(!rule.is_text_rule(), "{id} is raised by code");
            assert_eq!(rule.category, crate::finding::Category::Policy);
        }
        let documented = set
            .iter()
            .filter(|r| {
                set.source_of(&r.id)
                    .is_some_and(|p| p.ends_with("policy.yaml"))
            })
            .count();
        assert_eq!(documented, RULE_IDS.len());
    }

    /// Online, the registry stage's digest and signature are held to the admitting rule.
    #[test]
    fn the_resolved_digest_and_signer_are_held_to_the_rule_that_admits_the_image() {
        let policy = PolicyDocument::parse(
            &format!(
                "[perimeter]\n\n[[perimeter.image]]\nimage = \"ghcr.io/acme/*\"\ndigests = [\"{PINNED}\"]\nidentities = [{{ identity = \"release@acme.example\", issuer = \"https://accounts.google.com\" }}]\n"
            ),
            "mcp-audit.toml",
            Path::new("."),
        )
        .unwrap();
        let config = crate::config::parse_config(
            "a.json",
            r#"{"mcpServers": {"tools": {"command": "docker", "args": ["run", "-i", "--rm", "ghcr.io/acme/tools:1"]}}}"#,
            Some(Syntax::Jsonc),
        )
        .unwrap()
        .unwrap();
        let server = &config.servers[0];
        let audit = |digest: &str, verified: bool| ImageAudit {
            server: server.name.clone(),
            entry: server.location.clone(),
            image: "ghcr.io/acme/tools:1".to_string(),
            resolved: Some(ResolvedImage {
                repository: "ghcr.io/acme/tools".to_string(),
                digest: digest.to_string(),
                platform: None,
                index_digest: None,
            }),
            signature: Some(SignatureOutcome {
                verified,
                error: (!verified).then(|| "no signature".to_string()),
                ..SignatureOutcome::default()
            }),
            findings: Vec::new(),
        };
        let rules = RuleSet::load(&[]).unwrap();
        let run = |images: &[ImageAudit]| {
            let configs = std::slice::from_ref(&config);
            let subjects = Subjects {
                configs,
                captures: &[],
                images,
            };
            enforce(&policy, &subjects, &rules)
        };
        assert!(run(&[audit(PINNED, true)]).is_empty());
        assert!(run(&[]).is_empty(), "offline, nothing to hold them to");
        let found = run(&[audit(OTHER, false)]);
        let ids: Vec<&str> = found.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, [DIGEST_NOT_ADMITTED, SIGNER_NOT_VERIFIED]);
        for finding in &found {
            assert!(
                finding.message.contains("decided by mcp-audit.toml:3 "),
                "{}",
                finding.message
            );
            assert_eq!(finding.location.as_ref(), Some(&server.location));
        }
        assert!(found[0].message.contains(OTHER));
        assert!(found[1].message.contains("no signature"));
    }

    #[test]
    fn packages_split_into_name_and_version() {
        let p = split_package("@modelcontextprotocol/server-filesystem@2025.8.21");
        assert_eq!(p.name, "@modelcontextprotocol/server-filesystem");
        assert_eq!(p.version.as_deref(), Some("2025.8.21"));
        assert_eq!(
            split_package("mcp-server-fetch==1.0").name,
            "mcp-server-fetch"
        );
        let range = split_package("mcp-server-git>=0.6");
        assert_eq!(range.name, "mcp-server-git");
        assert_eq!(range.version.as_deref(), Some(">=0.6"));
        assert!(split_package("@scope/pkg").version.is_none());
        assert_eq!(split_package("npm:pkg@1").name, "pkg");
        let url = split_package("git+https://oauth2:Zq4Xw8Er2Ty6Ui0Op3As@gitlab.example.com/x.git");
        assert_eq!(url.name, "git+https://gitlab.example.com/x.git");
        assert!(url.version.is_none());
    }
}
