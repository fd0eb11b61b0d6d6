//! The config lint: what a server's entry shows about it before it runs (plaintext secrets,
//! unpinned images and packages, dangerous container options, host execution, plain-HTTP
//! remotes) as findings located on the value that caused each. Severity, confidence and wording
//! come from `rules/config.yaml`; this module only decides whether a rule applies.

use super::docker_args::{DockerRun, RunOption};
use super::launcher::{Launcher, program_name};
use super::{ConfigFile, Launch, Located, Server, Setting, secrets};
use crate::finding::{Finding, Location};
use crate::rules::RuleSet;
use crate::rules::checks::url_host;
use regex::Regex;
use std::sync::LazyLock;

pub const PLAINTEXT_SECRET: &str = "MCP301";
pub const SECRET_LIKE_VALUE: &str = "MCP302";
pub const IMAGE_UNPINNED: &str = "MCP310";
pub const IMAGE_TAG_NOT_DIGEST: &str = "MCP311";
pub const HOST_PACKAGE_UNPINNED: &str = "MCP312";
pub const PRIVILEGED_CONTAINER: &str = "MCP320";
pub const RUNTIME_SOCKET_EXPOSED: &str = "MCP321";
pub const HOST_SYSTEM_MOUNTED: &str = "MCP322";
pub const HOST_HOME_MOUNTED: &str = "MCP323";
pub const HOST_NETWORK: &str = "MCP324";
pub const HOST_NAMESPACE: &str = "MCP325";
pub const DANGEROUS_CAPABILITY: &str = "MCP326";
pub const CAPABILITY_ADDED: &str = "MCP327";
pub const CONFINEMENT_DISABLED: &str = "MCP328";
pub const HOST_DEVICE: &str = "MCP329";
pub const CONTAINER_HARDENING_MISSING: &str = "MCP330";
pub const RUN_ARGUMENTS_INVALID: &str = "MCP331";
pub const OTHER_CONTAINER_JOINED: &str = "MCP332";
pub const HOST_EXECUTION: &str = "MCP340";
pub const REMOTE_SCRIPT_EXECUTION: &str = "MCP341";
pub const STARTED_AS_ROOT: &str = "MCP342";
pub const PLAINTEXT_HTTP_REMOTE: &str = "MCP350";
pub const SEVERAL_SERVER_KEYS: &str = "MCP360";

/// Every rule this lint can raise; each must exist in the built-in rule set.
pub const RULE_IDS: &[&str] = &[
    PLAINTEXT_SECRET,
    SECRET_LIKE_VALUE,
    IMAGE_UNPINNED,
    IMAGE_TAG_NOT_DIGEST,
    HOST_PACKAGE_UNPINNED,
    PRIVILEGED_CONTAINER,
    RUNTIME_SOCKET_EXPOSED,
    HOST_SYSTEM_MOUNTED,
    HOST_HOME_MOUNTED,
    HOST_NETWORK,
    HOST_NAMESPACE,
    DANGEROUS_CAPABILITY,
    CAPABILITY_ADDED,
    CONFINEMENT_DISABLED,
    HOST_DEVICE,
    CONTAINER_HARDENING_MISSING,
    RUN_ARGUMENTS_INVALID,
    OTHER_CONTAINER_JOINED,
    HOST_EXECUTION,
    REMOTE_SCRIPT_EXECUTION,
    STARTED_AS_ROOT,
    PLAINTEXT_HTTP_REMOTE,
    SEVERAL_SERVER_KEYS,
];

/// Lint every server of every file; findings come back in report order.
pub fn lint_configs(files: &[ConfigFile], rules: &RuleSet) -> Vec<Finding> {
    let mut findings: Vec<Finding> = files
        .iter()
        .flat_map(|file| &file.servers)
        .flat_map(|server| lint_server(server, rules))
        .collect();
    findings.extend(files.iter().filter_map(|file| several_keys(file, rules)));
    crate::finding::sort_findings(&mut findings);
    findings
}

/// A file whose servers sit under more than one key, located on the second: the finding is
/// about the file, so it names the file where others name a server.
fn several_keys(file: &ConfigFile, rules: &RuleSet) -> Option<Finding> {
    let second = file.keys.get(1)?;
    let keys: Vec<String> = file.keys.iter().map(|k| format!("`{}`", k.value)).collect();
    let message = format!(
        "servers are declared under {}; each client reads only its own key, so the file shows different servers to different readers (all were read)",
        keys.join(" and ")
    );
    let finding = rules.finding(SEVERAL_SERVER_KEYS, &file.path, message)?;
    Some(
        finding
            .field(second.value.clone())
            .evidence(&keys.join(", "))
            .location(Some(second.location.clone())),
    )
}

/// Every finding the config shows about one server.
pub fn lint_server(server: &Server, rules: &RuleSet) -> Vec<Finding> {
    let mut lint = Lint {
        rules,
        server,
        findings: Vec::new(),
    };
    lint.settings(&server.env, "env");
    lint.settings(&server.headers, "headers");
    match &server.launch {
        Launch::Container {
            args,
            docker_run,
            launchers,
            ..
        } => {
            lint.launchers(launchers);
            lint.container(args, docker_run);
        }
        Launch::Host {
            command,
            args,
            launchers,
        } => {
            lint.launchers(launchers);
            lint.host(command, args);
        }
        Launch::Remote { url, .. } => lint.remote(url),
    }
    lint.findings
}

struct Lint<'a> {
    rules: &'a RuleSet,
    server: &'a Server,
    findings: Vec<Finding>,
}

impl Lint<'_> {
    /// Raise rule `id`, with the severity and confidence its data gives it.
    fn raise(
        &mut self,
        id: &str,
        field: &str,
        message: String,
        evidence: &str,
        location: &Location,
    ) {
        let Some(finding) = self.rules.finding(id, &self.server.name, message) else {
            return;
        };
        self.findings.push(
            finding
                .field(field)
                .evidence(evidence)
                .location(Some(location.clone())),
        );
    }

    fn settings(&mut self, settings: &[Setting], kind: &str) {
        for setting in settings {
            if let Some(value) = &setting.value {
                let field = format!("{kind}.{}", setting.name);
                self.value(&field, Some(&setting.name), value, &setting.location);
            }
        }
    }

    /// A secret in a provider's format anywhere in the value, or a credential-like literal
    /// under a secret's name.
    fn value(&mut self, field: &str, name: Option<&str>, value: &str, location: &Location) -> bool {
        let shown = |redacted: String| match name {
            Some(name) => format!("{name}={redacted}"),
            None => redacted,
        };
        // A token found in the value is redacted where it stands; a credential known only by its
        // name is the whole value.
        let token = match secrets::find_token(value) {
            Some(token) => Some((token.kind, secrets::redact_text(value))),
            None => name
                .and_then(|n| secrets::find_named_token(n, value))
                .map(|kind| (kind, secrets::redact(value))),
        };
        if let Some((kind, redacted)) = token {
            let message = format!("`{field}` holds a {kind} in plain text");
            self.raise(PLAINTEXT_SECRET, field, message, &shown(redacted), location);
            return true;
        }
        if let Some(name) = name
            && secrets::is_secret_name(name)
            && secrets::is_secret_value(name, value)
        {
            let message = format!("`{field}` is a literal that looks like a credential");
            self.raise(
                SECRET_LIKE_VALUE,
                field,
                message,
                &shown(secrets::redact(value)),
                location,
            );
            return true;
        }
        false
    }

    /// Secrets in a command line: in any argument, as `NAME=value`, `--flag=value`, or a secret
    /// flag's separate value (`--api-key VALUE`). `skip` holds arguments already judged.
    fn args(&mut self, args: &[Located<String>], skip: &[usize]) {
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let field = format!("args[{i}]");
            if skip.contains(&i) {
                i += 1;
                continue;
            }
            if let Some(flag) = secrets::secret_flag(&arg.value)
                && let Some(next) = args.get(i + 1)
                && !skip.contains(&(i + 1))
            {
                let field = format!("args[{}]", i + 1);
                self.value(&field, Some(flag), &next.value, &next.location);
                i += 2;
                continue;
            }
            let pair = arg
                .value
                .split_once('=')
                .filter(|(name, _)| !name.is_empty() && !name.contains(['/', ':', ' ']));
            match pair {
                Some((name, value)) => {
                    let name = name.trim_start_matches('-');
                    self.value(&field, Some(name), value, &arg.location);
                }
                None => {
                    self.value(&field, None, &arg.value, &arg.location);
                }
            }
            i += 1;
        }
    }

    fn container(&mut self, args: &[Located<String>], run: &DockerRun) {
        let at = |index: usize| {
            args.get(index)
                .map_or_else(|| self.server.location.clone(), |a| a.location.clone())
        };
        let mut judged = Vec::new();
        for option in run.all("env") {
            if let Some((name, value)) = option.value.as_deref().and_then(|v| v.split_once('=')) {
                self.value(&format!("-e {name}"), Some(name), value, &at(option.index));
                judged.push(option.index);
            }
        }
        self.args(args, &judged);
        if let Some(image) = &run.image {
            self.image(&image.text, &at(image.index));
        }
        self.container_options(run, &at);
        for problem in &run.problems {
            let evidence = args.get(problem.index).map_or("", |a| a.value.as_str());
            self.raise(
                RUN_ARGUMENTS_INVALID,
                "docker run",
                problem.message.clone(),
                &secrets::redact_text(evidence),
                &at(problem.index),
            );
        }
        self.hardening(run);
    }

    fn image(&mut self, image: &str, location: &Location) {
        // A template (`{{image}}`, `${IMAGE}`) is filled in elsewhere; there is nothing to judge.
        if image.contains(['{', '$', '<']) {
            return;
        }
        let reference = ImageReference::parse(image);
        if reference.digest.is_some() {
            return;
        }
        match reference.tag {
            None => self.raise(
                IMAGE_UNPINNED,
                "image",
                format!("image `{image}` has no tag: it runs whatever `:latest` is at each pull"),
                image,
                location,
            ),
            Some("latest") => self.raise(
                IMAGE_UNPINNED,
                "image",
                format!("image `{image}` runs whatever `:latest` is at each pull"),
                image,
                location,
            ),
            Some(_) => self.raise(
                IMAGE_TAG_NOT_DIGEST,
                "image",
                format!("image `{image}` is pinned by tag, not by digest"),
                image,
                location,
            ),
        }
    }

    fn container_options(&mut self, run: &DockerRun, at: &dyn Fn(usize) -> Location) {
        if run.is_on("privileged")
            && let Some(option) = run.last("privileged")
        {
            let message = "the container runs with `--privileged`".to_string();
            self.raise(
                PRIVILEGED_CONTAINER,
                "docker run --privileged",
                message,
                "--privileged",
                &at(option.index),
            );
        }
        if run.is_on("use-api-socket")
            && let Some(option) = run.last("use-api-socket")
        {
            let message =
                "`--use-api-socket` gives the container the Docker API socket".to_string();
            self.raise(
                RUNTIME_SOCKET_EXPOSED,
                "docker run --use-api-socket",
                message,
                "--use-api-socket",
                &at(option.index),
            );
        }
        for (flag, source) in run
            .all("volume")
            .filter_map(|o| volume_source(value_of(o)).map(|s| ("-v", o, s)))
            .chain(
                run.all("mount")
                    .filter_map(|o| mount_source(value_of(o)).map(|s| ("--mount", o, s))),
            )
            .map(|(flag, o, s)| ((flag, o), s))
        {
            let (flag, option) = flag;
            self.mount(flag, option, &source, &at(option.index));
        }
        for option in run.all("network") {
            if joins_host(value_of(option)) {
                let message = "the container shares the host's network".to_string();
                self.raise(
                    HOST_NETWORK,
                    "docker run --network",
                    message,
                    "--network host",
                    &at(option.index),
                );
            }
        }
        for flag in ["pid", "ipc", "uts", "userns", "cgroupns"] {
            for option in run.all(flag) {
                if joins_host(value_of(option)) {
                    let message = format!(
                        "the container shares the host's {} namespace",
                        flag.to_uppercase()
                    );
                    self.raise(
                        HOST_NAMESPACE,
                        &format!("docker run --{flag}"),
                        message,
                        &format!("--{flag} host"),
                        &at(option.index),
                    );
                }
            }
        }
        for flag in ["network", "pid", "ipc"] {
            for option in run.all(flag) {
                if let Some(other) = value_of(option).strip_prefix("container:") {
                    let message = format!(
                        "the container joins the {} namespace of container `{other}`, whose confinement it takes",
                        flag.to_uppercase()
                    );
                    self.raise(
                        OTHER_CONTAINER_JOINED,
                        &format!("docker run --{flag}"),
                        message,
                        &format!("--{flag} container:{other}"),
                        &at(option.index),
                    );
                }
            }
        }
        for option in run.all("volumes-from") {
            let other = value_of(option);
            let message = format!("the container mounts every volume of container `{other}`");
            self.raise(
                OTHER_CONTAINER_JOINED,
                "docker run --volumes-from",
                message,
                &format!("--volumes-from {other}"),
                &at(option.index),
            );
        }
        for option in run.all("cap-add") {
            for capability in value_of(option).split(',').filter(|c| !c.is_empty()) {
                let name = capability.trim().to_ascii_uppercase();
                let name = name.strip_prefix("CAP_").unwrap_or(&name);
                let evidence = format!("--cap-add {name}");
                let location = at(option.index);
                if DANGEROUS_CAPABILITIES.contains(&name) {
                    let message =
                        format!("the container is given `{name}`, a capability that can escape it");
                    self.raise(
                        DANGEROUS_CAPABILITY,
                        "docker run --cap-add",
                        message,
                        &evidence,
                        &location,
                    );
                } else {
                    let message = format!("the container is given the extra capability `{name}`");
                    self.raise(
                        CAPABILITY_ADDED,
                        "docker run --cap-add",
                        message,
                        &evidence,
                        &location,
                    );
                }
            }
        }
        for option in run.all("security-opt") {
            let setting = value_of(option).to_ascii_lowercase().replacen(':', "=", 1);
            if UNCONFINED.contains(&setting.as_str()) {
                let message =
                    format!("`--security-opt {setting}` switches off the container's confinement");
                self.raise(
                    CONFINEMENT_DISABLED,
                    "docker run --security-opt",
                    message,
                    &format!("--security-opt {setting}"),
                    &at(option.index),
                );
            }
        }
        for flag in ["device", "device-cgroup-rule"] {
            for option in run.all(flag) {
                let value = value_of(option);
                let message = format!("host device access is given with `--{flag} {value}`");
                self.raise(
                    HOST_DEVICE,
                    &format!("docker run --{flag}"),
                    message,
                    &format!("--{flag} {value}"),
                    &at(option.index),
                );
            }
        }
    }

    fn mount(&mut self, flag: &str, option: &RunOption, source: &str, location: &Location) {
        let Some(kind) = classify_host_path(source) else {
            return;
        };
        let field = format!("docker run {flag}");
        let evidence = format!("{flag} {}", value_of(option));
        let (id, message) = match kind {
            HostPath::RuntimeSocket => (
                RUNTIME_SOCKET_EXPOSED,
                format!(
                    "`{source}` is mounted: the server can drive the container runtime, which is root on the host"
                ),
            ),
            HostPath::System => (
                HOST_SYSTEM_MOUNTED,
                format!("the host's `{source}` is mounted into the container"),
            ),
            HostPath::Home => (
                HOST_HOME_MOUNTED,
                format!(
                    "`{source}` (a home or credential directory) is mounted into the container"
                ),
            ),
        };
        self.raise(id, &field, message, &evidence, location);
    }

    fn hardening(&mut self, run: &DockerRun) {
        let mut missing = Vec::new();
        if !run.is_on("read-only") {
            missing.push("--read-only");
        }
        if run.last("network").map(value_of) != Some("none") {
            missing.push("--network none");
        }
        if !run
            .all("cap-drop")
            .any(|o| value_of(o).eq_ignore_ascii_case("all"))
        {
            missing.push("--cap-drop ALL");
        }
        if !run
            .all("security-opt")
            .any(|o| value_of(o).starts_with("no-new-privileges"))
        {
            missing.push("--security-opt no-new-privileges");
        }
        if !missing.is_empty() {
            let evidence = format!("without {}", missing.join(", "));
            let message = format!("the container runs {evidence}");
            let location = self.server.location.clone();
            self.raise(
                CONTAINER_HARDENING_MISSING,
                "docker run",
                message,
                &evidence,
                &location,
            );
        }
    }

    /// The launchers a command runs through: their own words are read like arguments (a script's
    /// words are read as the command split out of it), and an elevating one is raised.
    fn launchers(&mut self, launchers: &[Launcher]) {
        for launcher in launchers {
            let program = program_name(&launcher.program.value);
            if !launcher.script {
                self.args(&launcher.words, &[]);
            }
            self.download_and_run(&program, &launcher.words);
            if ELEVATING.contains(&program.as_str()) {
                let written = std::iter::once(&launcher.program.value)
                    .chain(launcher.words.iter().map(|w| &w.value))
                    .map(String::as_str);
                let message = format!(
                    "the server is started through `{program}`: it runs as root on the host"
                );
                self.raise(
                    STARTED_AS_ROOT,
                    "command",
                    message,
                    &secrets::redact_args(written).join(" "),
                    &launcher.program.location,
                );
            }
        }
    }

    /// `curl … | sh` given to a shell.
    fn download_and_run(&mut self, program: &str, args: &[Located<String>]) {
        if !SHELLS.contains(&program) {
            return;
        }
        for arg in args {
            if DOWNLOAD_AND_RUN.is_match(&arg.value.to_ascii_lowercase()) {
                let message = format!("`{program}` downloads a script and runs it at every start");
                self.raise(
                    REMOTE_SCRIPT_EXECUTION,
                    "args",
                    message,
                    &secrets::redact_text(&arg.value),
                    &arg.location,
                );
            }
        }
    }

    fn host(&mut self, command: &Located<String>, args: &[Located<String>]) {
        self.args(args, &[]);
        let program = program_name(&command.value);
        let shown = secrets::redact_args(
            std::iter::once(command.value.as_str()).chain(args.iter().map(|a| a.value.as_str())),
        )
        .join(" ");
        self.raise(
            HOST_EXECUTION,
            "command",
            format!("`{program}` runs on the host with the user's privileges"),
            &shown,
            &command.location,
        );
        self.download_and_run(&program, args);
        if let Some((runner, spec)) = package_spec(&program, args)
            && !spec_is_pinned(runner, &spec.value)
        {
            let message = format!(
                "`{program}` fetches `{}` without an exact version, at every start",
                spec.value
            );
            self.raise(
                HOST_PACKAGE_UNPINNED,
                "args",
                message,
                &spec.value,
                &spec.location,
            );
        }
    }

    fn remote(&mut self, url: &Located<String>) {
        if !self.value("url", None, &url.value, &url.location) {
            let query = url.value.split_once('?').map_or("", |(_, q)| q);
            for pair in query.split(['&', ';']) {
                if let Some((name, value)) = pair.split_once('=')
                    && self.value("url", Some(name), value, &url.location)
                {
                    break;
                }
            }
        }
        if let Some(host) = plain_http_host(&url.value) {
            let message = format!(
                "`{host}` is reached over plain HTTP: headers and tool descriptions cross the network unprotected"
            );
            self.raise(
                PLAINTEXT_HTTP_REMOTE,
                "url",
                message,
                &secrets::redact_text(&url.value),
                &url.location,
            );
        }
    }
}

fn value_of(option: &RunOption) -> &str {
    option.value.as_deref().unwrap_or("")
}

/// A namespace option that joins the host's: `host`, or Podman's `ns:PATH` (a namespace file of
/// the host's, such as `/proc/1/ns/net`).
fn joins_host(value: &str) -> bool {
    value == "host" || value.starts_with("ns:")
}

/// Capabilities that are known container escapes or control the host's kernel, network or files.
const DANGEROUS_CAPABILITIES: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "DAC_READ_SEARCH",
    "DAC_OVERRIDE",
    "NET_ADMIN",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SYSLOG",
    "SETFCAP",
    "LINUX_IMMUTABLE",
];

/// `--security-opt` settings that remove the kernel's confinement of the container.
const UNCONFINED: &[&str] = &[
    "seccomp=unconfined",
    "apparmor=unconfined",
    "label=disable",
    "systempaths=unconfined",
];

/// Launchers that run their command as another user, root unless told otherwise.
const ELEVATING: &[&str] = &["sudo", "doas", "pkexec", "run0", "gsudo"];

const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "fish",
    "cmd",
    "powershell",
    "pwsh",
];

static DOWNLOAD_AND_RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod)\b[^|;&]*\|\s*(?:sudo\s+)?",
        r"(?:sh|bash|zsh|dash|python3?|node|iex|invoke-expression)\b",
        r"|\biex\s*\(\s*(?:iwr|irm|invoke-webrequest|invoke-restmethod|\(?\s*new-object\s+net\.webclient)",
        r"|\b(?:sh|bash)\s+<\(\s*(?:curl|wget)\b",
    ))
    .expect("a constant pattern")
});

/// An image reference's parts: `registry/repo:tag@sha256:…`.
struct ImageReference<'a> {
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

impl<'a> ImageReference<'a> {
    fn parse(image: &'a str) -> Self {
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (image, None),
        };
        let last = name.rfind('/').map_or(0, |i| i + 1);
        let tag = name[last..].split_once(':').map(|(_, tag)| tag);
        ImageReference { tag, digest }
    }
}

/// What a host path given to a container exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostPath {
    RuntimeSocket,
    System,
    Home,
}

/// Host directories that hold credentials outright.
const CREDENTIAL_DIRS: &[&str] = &[
    ".ssh",
    ".aws",
    ".gnupg",
    ".kube",
    ".docker",
    ".azure",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".password-store",
    "gcloud",
    "Keychains",
];

const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/var/lib/docker",
    "/var/lib/containers",
];

fn classify_host_path(source: &str) -> Option<HostPath> {
    let path = lexical_path(source);
    let trimmed = path.as_str();
    let lower = trimmed.to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or("");
    if matches!(lower.as_str(), "/var/run" | "/run")
        || (file.ends_with(".sock")
            && ["docker", "podman", "containerd"]
                .iter()
                .any(|r| file.contains(r)))
    {
        return Some(HostPath::RuntimeSocket);
    }
    let drive_root = lower.len() <= 3 && lower.as_bytes().get(1) == Some(&b':');
    if SYSTEM_DIRS.contains(&lower.as_str()) || drive_root {
        return Some(HostPath::System);
    }
    let parts: Vec<&str> = trimmed.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| CREDENTIAL_DIRS.contains(p)) {
        return Some(HostPath::Home);
    }
    let home_alone = matches!(
        lower.as_str(),
        "~" | "$home" | "${home}" | "%userprofile%" | "/root" | "/home" | "/users"
    );
    let one_home = match parts.as_slice() {
        [top, _user] => matches!(top.to_ascii_lowercase().as_str(), "home" | "users"),
        [drive, users, _user] => drive.ends_with(':') && users.eq_ignore_ascii_case("users"),
        _ => false,
    } && !source.starts_with('.');
    (home_alone || one_home).then_some(HostPath::Home)
}

/// A host path with its spelling folded, as the kernel resolves it: `\` as `/`, empty and `.`
/// components dropped, `..` applied, and `/proc/PID/root` (the root of a process, the host's
/// own for PID 1) read as `/`. No file is looked at.
fn lexical_path(source: &str) -> String {
    let path = source.replace('\\', "/");
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            _ => parts.push(part),
        }
        if absolute
            && let ["proc", pid, "root"] = parts.as_slice()
            && (pid.bytes().all(|b| b.is_ascii_digit()) || matches!(*pid, "self" | "thread-self"))
        {
            parts.clear();
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// The host side of `-v SOURCE:TARGET[:OPTIONS]`, when it is a host path (not a named volume).
fn volume_source(value: &str) -> Option<String> {
    let windows_drive = value.len() > 2
        && value.as_bytes()[0].is_ascii_alphabetic()
        && value.as_bytes()[1] == b':'
        && matches!(value.as_bytes()[2], b'\\' | b'/');
    let source = if windows_drive {
        let rest = &value[2..];
        format!("{}{}", &value[..2], rest.split(':').next().unwrap_or(rest))
    } else {
        let (source, _) = value.split_once(':')?;
        source.to_string()
    };
    let host_path = windows_drive || source.starts_with(['/', '~', '$', '%', '.', '\\']);
    host_path.then_some(source)
}

/// The host side of `--mount type=bind,source=…`; other mount types hold no host path.
fn mount_source(value: &str) -> Option<String> {
    let mut kind = "volume";
    let mut source = None;
    for part in value.split(',') {
        let (key, val) = part.split_once('=').unwrap_or((part, ""));
        match key.trim() {
            "type" => kind = val,
            "source" | "src" => source = Some(val.to_string()),
            _ => {}
        }
    }
    if kind == "bind" { source } else { None }
}

/// The program a host server runs (base name, lower-cased, without `.exe` or `.cmd`) and the
/// package spec its runner fetches, if it is a runner (`npx -y pkg@1` → `npx`, `pkg@1`).
pub fn host_package<'a>(
    command: &Located<String>,
    args: &'a [Located<String>],
) -> (String, Option<&'a Located<String>>) {
    let program = program_name(&command.value);
    let spec = package_spec(&program, args).map(|(_, spec)| spec);
    (program, spec)
}

/// How a package runner names its package's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    Npm,
    Python,
    Go,
    NuGet,
}

/// The package spec a runner is asked to fetch (`npx -y pkg@1`, `uvx --from pkg==1 cmd`).
fn package_spec<'a>(
    program: &str,
    args: &'a [Located<String>],
) -> Option<(Runner, &'a Located<String>)> {
    let first = args.first().map(|a| a.value.as_str());
    let second = args.get(1).map(|a| a.value.as_str());
    let (runner, rest) = match (program, first, second) {
        ("npx" | "bunx" | "pnpx", _, _) => (Runner::Npm, args),
        ("npm", Some("exec" | "x"), _)
        | ("pnpm" | "yarn", Some("dlx"), _)
        | ("bun", Some("x"), _) => (Runner::Npm, &args[1..]),
        ("uvx", _, _) => (Runner::Python, args),
        ("uv", Some("tool"), Some("run")) => (Runner::Python, &args[2..]),
        ("pipx", Some("run"), _) => (Runner::Python, &args[1..]),
        ("go", Some("run"), _) => (Runner::Go, &args[1..]),
        ("dnx", _, _) => (Runner::NuGet, args),
        ("deno", _, _) => {
            let spec = args
                .iter()
                .find(|a| a.value.starts_with("npm:") || a.value.starts_with("jsr:"))?;
            return Some((Runner::Npm, spec));
        }
        _ => return None,
    };
    let spec = match runner {
        Runner::Npm => first_positional(rest, &["-p", "--package"], NPM_VALUE_FLAGS),
        Runner::Python => first_positional(rest, &["--from", "--spec"], UV_VALUE_FLAGS),
        Runner::Go => first_positional(
            rest,
            &[],
            &[
                "-C", "-o", "-exec", "-tags", "-ldflags", "-gcflags", "-mod", "-modfile",
                "-overlay", "-pgo", "-p",
            ],
        ),
        Runner::NuGet => {
            if args
                .iter()
                .any(|a| a.value == "--version" || a.value.starts_with("--version="))
            {
                return None;
            }
            first_positional(
                rest,
                &[],
                &["--source", "--configfile", "--verbosity", "-v"],
            )
        }
    }?;
    Some((runner, spec))
}

const NPM_VALUE_FLAGS: &[&str] = &[
    "-c",
    "--call",
    "--registry",
    "--cache",
    "--userconfig",
    "--prefix",
    "-w",
    "--workspace",
    "--node-options",
    "--shell",
    "--script-shell",
    "--loglevel",
];

const UV_VALUE_FLAGS: &[&str] = &[
    "--with",
    "--with-editable",
    "--with-requirements",
    "--python",
    "-p",
    "--index",
    "--index-url",
    "--extra-index-url",
    "--default-index",
    "--find-links",
    "-f",
    "--directory",
    "--project",
    "--config-file",
    "--cache-dir",
    "--env-file",
    "--constraints",
    "-c",
    "--overrides",
    "--build-constraints",
    "-b",
    "--python-platform",
    "--index-strategy",
    "--keyring-provider",
    "--exclude-newer",
    "--refresh-package",
    "--reinstall-package",
    "--upgrade-package",
    "-P",
    "--color",
    "--link-mode",
];

/// The package a runner fetches: the value of one of `package_flags` if given, else its first
/// positional argument; `value_flags` take a value that is not the package.
fn first_positional<'a>(
    args: &'a [Located<String>],
    package_flags: &[&str],
    value_flags: &[&str],
) -> Option<&'a Located<String>> {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let text = arg.value.as_str();
        if text == "--" {
            return args.get(i + 1);
        }
        if package_flags.contains(&text) {
            return args.get(i + 1);
        }
        if let Some((flag, _)) = text.split_once('=')
            && package_flags.contains(&flag)
        {
            return Some(arg);
        }
        if text.starts_with('-') {
            i += if value_flags.contains(&text) { 2 } else { 1 };
            continue;
        }
        return Some(arg);
    }
    None
}

static EXACT_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^v?\d+(?:\.\d+){0,3}(?:[-+][0-9A-Za-z.\-+]+)?$").expect("a constant pattern")
});

/// Whether a package spec names one exact version (or commit). Local paths are not packages and
/// count as pinned: there is nothing to fetch.
fn spec_is_pinned(runner: Runner, spec: &str) -> bool {
    let spec = spec
        .split_once('=')
        .filter(|(flag, _)| flag.starts_with("--"))
        .map_or(spec, |(_, v)| v);
    let spec = spec
        .strip_prefix("npm:")
        .or_else(|| spec.strip_prefix("jsr:"))
        .unwrap_or(spec);
    if spec.starts_with(['.', '/', '~']) || spec.starts_with("file:") || spec.contains('\\') {
        return true;
    }
    if spec.contains("://") || spec.starts_with("git+") || spec.starts_with("github:") {
        // A repository: pinned by a `#commit`/`#tag` (npm) or `@rev` after the path (pip, go).
        let path = spec.rsplit_once("://").map_or(spec, |(_, rest)| rest);
        return spec.contains('#')
            || path
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains('@'));
    }
    match runner {
        Runner::Npm | Runner::NuGet => {
            let at = if let Some(scoped) = spec.strip_prefix('@') {
                scoped.find('@').map(|i| i + 1)
            } else {
                spec.find('@')
            };
            at.is_some_and(|i| EXACT_VERSION.is_match(&spec[i + 1..]))
        }
        Runner::Python => {
            let spec = match (spec.find('['), spec.find(']')) {
                (Some(open), Some(close)) if open < close => {
                    format!("{}{}", &spec[..open], &spec[close + 1..])
                }
                _ => spec.to_string(),
            };
            if let Some((_, version)) = spec.split_once("===") {
                return !version.is_empty();
            }
            if let Some((_, version)) = spec.split_once("==") {
                return EXACT_VERSION.is_match(version.trim());
            }
            spec.split_once('@')
                .is_some_and(|(_, v)| EXACT_VERSION.is_match(v.trim()))
        }
        Runner::Go => match spec.split_once('@') {
            None => true,
            Some((_, version)) => {
                EXACT_VERSION.is_match(version)
                    || (version.len() >= 12 && version.chars().all(|c| c.is_ascii_hexdigit()))
            }
        },
    }
}

/// The host of a plain `http://` URL that is not loopback.
fn plain_http_host(url: &str) -> Option<String> {
    let url = url.trim();
    url.get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))?;
    let host = url_host(url);
    // `host.docker.internal` is this machine as Docker Desktop names it.
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host == "host.docker.internal"
        || host.starts_with("127.")
        || host == "[::1]"
        || host == "0.0.0.0";
    let template = host.is_empty() || host.contains(['{', '$', '<']);
    (!loopback && !template).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Located, Transport, docker_args};
    use crate::finding::Severity;

    fn rules() -> RuleSet {
        RuleSet::load(&[]).unwrap()
    }

    fn at(line: u32) -> Location {
        Location::at("mcp.json", line, 1)
    }

    fn located(args: &[&str]) -> Vec<Located<String>> {
        args.iter()
            .enumerate()
            .map(|(i, a)| Located {
                value: a.to_string(),
                location: at(10 + i as u32),
            })
            .collect()
    }

    fn server(launch: Launch) -> Server {
        Server {
            name: "demo".to_string(),
            location: at(1),
            launch,
            env: Vec::new(),
            headers: Vec::new(),
            raw: serde_json::Value::Null,
        }
    }

    fn command(program: &str, args: &[&str]) -> Server {
        server(Launch::from_command(
            Located {
                value: program.to_string(),
                location: at(2),
            },
            located(args),
        ))
    }

    fn set(settings: &mut Vec<Setting>, name: &str, value: &str, line: u32) {
        settings.push(Setting {
            name: name.into(),
            value: Some(value.into()),
            location: at(line),
        });
    }

    fn ids(server: &Server) -> Vec<String> {
        let mut ids: Vec<String> = lint_server(server, &rules())
            .into_iter()
            .map(|f| f.rule_id)
            .collect();
        ids.sort();
        ids
    }

    fn has(server: &Server, id: &str) -> bool {
        ids(server).iter().any(|i| i == id)
    }

    #[test]
    fn every_rule_the_lint_raises_is_documented_in_the_built_in_rules() {
        let set = rules();
        for id in RULE_IDS {
            let rule = set
                .get(id)
                .unwrap_or_else(|| panic!("{id} is not in rules/config.yaml"));
            assert!(
                !rule.is_text_rule(),
                "{id} must be raised by code, not matched"
            );
        }
        let documented: Vec<&str> = set
            .iter()
            .filter(|r| {
                set.source_of(&r.id)
                    .is_some_and(|p| p.ends_with("config.yaml"))
            })
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(documented.len(), RULE_IDS.len(), "{documented:?}");
    }

    #[test]
    fn severities_come_from_the_rule_data() {
        let findings = lint_server(
            &command("docker", &["run", "--privileged", "img:1"]),
            &rules(),
        );
        let privileged = findings
            .iter()
            .find(|f| f.rule_id == PRIVILEGED_CONTAINER)
            .unwrap();
        assert_eq!(
            privileged.severity,
            rules().get(PRIVILEGED_CONTAINER).unwrap().severity
        );
        assert_eq!(privileged.location, Some(at(11)));
    }

    #[test]
    fn the_catalogue_command_line_is_low_at_most() {
        let s = command(
            "docker",
            &[
                "run",
                "-i",
                "--rm",
                "-e",
                "GITHUB_PERSONAL_ACCESS_TOKEN",
                "ghcr.io/github/github-mcp-server:v0.13.0",
            ],
        );
        let findings = lint_server(&s, &rules());
        assert!(
            findings.iter().all(|f| f.severity <= Severity::Low),
            "{findings:#?}"
        );
        assert_eq!(
            ids(&s),
            vec![IMAGE_TAG_NOT_DIGEST, CONTAINER_HARDENING_MISSING]
        );
    }

    #[test]
    fn image_pinning() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let cases = [
            (format!("mcp/time@{digest}"), None),
            (format!("mcp/time:1.0@{digest}"), None),
            ("mcp/time".to_string(), Some(IMAGE_UNPINNED)),
            ("mcp/time:latest".to_string(), Some(IMAGE_UNPINNED)),
            ("localhost:5000/time".to_string(), Some(IMAGE_UNPINNED)),
            (
                "localhost:5000/time:2".to_string(),
                Some(IMAGE_TAG_NOT_DIGEST),
            ),
        ];
        for (image, expected) in cases {
            let found = ids(&command("docker", &["run", "-i", &image]));
            let pin: Vec<&String> = found
                .iter()
                .filter(|id| *id == IMAGE_UNPINNED || *id == IMAGE_TAG_NOT_DIGEST)
                .collect();
            assert_eq!(pin.first().map(|id| id.as_str()), expected, "{image}");
        }
    }

    #[test]
    fn dangerous_container_options() {
        let cases: &[(&[&str], &str)] = &[
            (&["run", "--privileged", "i:1"], PRIVILEGED_CONTAINER),
            (
                &[
                    "run",
                    "-v",
                    "/var/run/docker.sock:/var/run/docker.sock",
                    "i:1",
                ],
                RUNTIME_SOCKET_EXPOSED,
            ),
            (&["run", "--use-api-socket", "i:1"], RUNTIME_SOCKET_EXPOSED),
            (
                &[
                    "run",
                    "--mount",
                    "type=bind,source=/run/podman/podman.sock,target=/s",
                    "i:1",
                ],
                RUNTIME_SOCKET_EXPOSED,
            ),
            (&["run", "-v", "/:/host:ro", "i:1"], HOST_SYSTEM_MOUNTED),
            (
                &["run", "--mount", "type=bind,src=/etc,dst=/host-etc", "i:1"],
                HOST_SYSTEM_MOUNTED,
            ),
            (&["run", "-v", "C:\\:/host", "i:1"], HOST_SYSTEM_MOUNTED),
            (
                &["run", "-v", "/Users/alex:/data", "i:1"],
                HOST_HOME_MOUNTED,
            ),
            (&["run", "-v", "$HOME:/data", "i:1"], HOST_HOME_MOUNTED),
            (
                &["run", "-v", "~/.ssh:/root/.ssh:ro", "i:1"],
                HOST_HOME_MOUNTED,
            ),
            (
                &["run", "-v", "C:\\Users\\alex:/data", "i:1"],
                HOST_HOME_MOUNTED,
            ),
            (&["run", "--network", "host", "i:1"], HOST_NETWORK),
            (&["run", "--net=host", "i:1"], HOST_NETWORK),
            (&["run", "--pid=host", "i:1"], HOST_NAMESPACE),
            (&["run", "--ipc", "host", "i:1"], HOST_NAMESPACE),
            (
                &["run", "--cap-add", "SYS_ADMIN", "i:1"],
                DANGEROUS_CAPABILITY,
            ),
            (
                &["run", "--cap-add=cap_sys_ptrace", "i:1"],
                DANGEROUS_CAPABILITY,
            ),
            (
                &["run", "--cap-add", "NET_BIND_SERVICE", "i:1"],
                CAPABILITY_ADDED,
            ),
            (
                &["run", "--security-opt", "seccomp=unconfined", "i:1"],
                CONFINEMENT_DISABLED,
            ),
            (
                &["run", "--security-opt", "apparmor:unconfined", "i:1"],
                CONFINEMENT_DISABLED,
            ),
            (&["run", "--device", "/dev/kvm", "i:1"], HOST_DEVICE),
            (&["run", "--frobnicate", "i:1"], RUN_ARGUMENTS_INVALID),
            (&["run", "-v", "/.:/host", "i:1"], HOST_SYSTEM_MOUNTED),
            (&["run", "-v", "//:/host", "i:1"], HOST_SYSTEM_MOUNTED),
            (
                &["run", "-v", "/proc/1/root:/host", "i:1"],
                HOST_SYSTEM_MOUNTED,
            ),
            (
                &["run", "-v", "/proc/self/root/etc:/e", "i:1"],
                HOST_SYSTEM_MOUNTED,
            ),
            (
                &["run", "-v", "/tmp/../etc/:/e", "i:1"],
                HOST_SYSTEM_MOUNTED,
            ),
            (
                &[
                    "run",
                    "--mount",
                    "type=bind,src=//var//run/docker.sock,dst=/s",
                    "i:1",
                ],
                RUNTIME_SOCKET_EXPOSED,
            ),
            (&["run", "--userns=host", "i:1"], HOST_NAMESPACE),
            (&["run", "--uts", "host", "i:1"], HOST_NAMESPACE),
            (&["run", "--cgroupns=host", "i:1"], HOST_NAMESPACE),
            (&["run", "--pid=ns:/proc/1/ns/pid", "i:1"], HOST_NAMESPACE),
            (
                &["run", "--pid=container:db", "i:1"],
                OTHER_CONTAINER_JOINED,
            ),
            (
                &["run", "--network=container:vpn", "i:1"],
                OTHER_CONTAINER_JOINED,
            ),
            (
                &["run", "--net", "container:vpn", "i:1"],
                OTHER_CONTAINER_JOINED,
            ),
            (
                &["run", "--volumes-from", "vault", "i:1"],
                OTHER_CONTAINER_JOINED,
            ),
        ];
        for (args, id) in cases {
            assert!(
                has(&command("docker", args), id),
                "{args:?} should raise {id}: {:?}",
                ids(&command("docker", args))
            );
        }
    }

    #[test]
    fn a_launcher_does_not_hide_the_container_or_the_command_inside() {
        let run = ["docker", "run", "--privileged", "i:1"];
        let line = run.join(" ");
        let wrapped: &[(&str, Vec<&str>)] = &[
            ("cmd", [&["/c"][..], &run].concat()),
            ("cmd.exe", vec!["/C", &line]),
            ("sh", vec!["-c", &line]),
            ("powershell", vec!["-NoProfile", "-Command", &line]),
            ("wsl", [&["-e"][..], &run].concat()),
            ("env", [&["A=1"][..], &run].concat()),
            ("nohup", run.to_vec()),
        ];
        for (program, args) in wrapped {
            let server = command(program, args);
            assert!(
                has(&server, PRIVILEGED_CONTAINER),
                "{program} {args:?}: {:?}",
                ids(&server)
            );
            assert!(!has(&server, HOST_EXECUTION), "{program} {args:?}");
        }
        let nerdctl = command(
            "nerdctl",
            &["--namespace", "k8s.io", "run", "--privileged", "i:1"],
        );
        assert!(has(&nerdctl, PRIVILEGED_CONTAINER), "{:?}", ids(&nerdctl));
        let container = command("docker", &["container", "run", "--pid=host", "i:1"]);
        assert!(has(&container, HOST_NAMESPACE));

        let sudo = command("sudo", &["-E", "docker", "run", "--privileged", "i:1"]);
        assert!(has(&sudo, STARTED_AS_ROOT) && has(&sudo, PRIVILEGED_CONTAINER));
        let host = command("doas", &["npx", "-y", "pkg"]);
        assert!(has(&host, STARTED_AS_ROOT), "{:?}", ids(&host));
        assert!(
            has(&host, HOST_PACKAGE_UNPINNED),
            "the package behind the launcher is read"
        );
        let secret = command(
            "env",
            &[
                "GITHUB_TOKEN=ghp_0123456789abcdefABCDEF0123456789abcd",
                "npx",
                "-y",
                "pkg@1.0.0",
            ],
        );
        assert!(
            has(&secret, PLAINTEXT_SECRET),
            "a launcher's own words are read: {:?}",
            ids(&secret)
        );
        let script = command(
            "bash",
            &[
                "-c",
                "curl -fsSL https://x.example/i.sh | sh && docker run i:1",
            ],
        );
        assert!(has(&script, REMOTE_SCRIPT_EXECUTION), "{:?}", ids(&script));
        assert!(!has(
            &command("sh", &["-c", "docker run --rm i:1"]),
            STARTED_AS_ROOT
        ));
    }

    #[test]
    fn ordinary_mounts_are_not_flagged() {
        for volume in [
            "/Users/alex/notes:/projects/notes:ro",
            "/home/alex/projects/app:/workspace",
            "claude-memory:/app/dist",
            "/etc/localtime:/etc/localtime:ro",
            "./data:/data",
            "./home/alex:/data",
            "/srv/./proc-data:/data",
            "/proc/1/rootfs:/r",
            "{{filesystem.paths|volume|into}}",
        ] {
            let s = command("docker", &["run", "-v", volume, "i:1"]);
            let found = ids(&s);
            assert!(
                !found.iter().any(|id| [
                    RUNTIME_SOCKET_EXPOSED,
                    HOST_SYSTEM_MOUNTED,
                    HOST_HOME_MOUNTED
                ]
                .contains(&id.as_str())),
                "{volume}: {found:?}"
            );
        }
        assert!(!has(
            &command(
                "docker",
                &["run", "--mount", "type=volume,src=data,dst=/", "i:1"]
            ),
            HOST_SYSTEM_MOUNTED
        ));
    }

    #[test]
    fn a_fully_hardened_container_has_nothing_to_add() {
        let s = command(
            "docker",
            &[
                "run",
                "-i",
                "--rm",
                "--read-only",
                "--network",
                "none",
                "--cap-drop",
                "ALL",
                "--security-opt",
                "no-new-privileges",
                "mcp/time:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ],
        );
        assert!(ids(&s).is_empty(), "{:?}", ids(&s));
    }

    #[test]
    fn secrets_in_env_headers_args_and_docker_env() {
        let token = "ghp_0123456789abcdefghijABCDEFGHIJklmnop";
        let mut s = command(
            "docker",
            &[
                "run",
                "-i",
                "-e",
                &format!("GITHUB_TOKEN={token}"),
                "mcp/github:1",
            ],
        );
        let openai = "sk-proj-Q2x7Lm9Pz4Rt8Vw1Ks6Hd3Jf5Ng0Bc-Ya7Ue2Io9";
        set(&mut s.env, "OPENAI_API_KEY", openai, 5);
        set(
            &mut s.headers,
            "X-API-Key",
            "f3a9c07d2b8e4d15a6c9e0b7d4f21a8c",
            6,
        );
        let findings = lint_server(&s, &rules());
        let secrets: Vec<(&str, &str, &Option<Location>)> = findings
            .iter()
            .filter(|f| f.rule_id == PLAINTEXT_SECRET || f.rule_id == SECRET_LIKE_VALUE)
            .map(|f| (f.rule_id.as_str(), f.field.as_str(), &f.location))
            .collect();
        assert_eq!(
            secrets,
            vec![
                (PLAINTEXT_SECRET, "env.OPENAI_API_KEY", &Some(at(5))),
                (SECRET_LIKE_VALUE, "headers.X-API-Key", &Some(at(6))),
                (PLAINTEXT_SECRET, "-e GITHUB_TOKEN", &Some(at(13))),
            ]
        );
        for finding in &findings {
            for secret in ["0123456789abcdef", "Q2x7Lm9Pz4", "f3a9c07d2b8e"] {
                assert!(!finding.evidence.contains(secret), "{}", finding.evidence);
            }
        }
    }

    #[test]
    fn placeholders_and_pass_through_are_not_secrets() {
        let mut s = command(
            "docker",
            &[
                "run",
                "-i",
                "--rm",
                "-e",
                "GITHUB_PERSONAL_ACCESS_TOKEN",
                "mcp/github:1",
            ],
        );
        set(
            &mut s.env,
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "<YOUR_TOKEN>",
            5,
        );
        set(&mut s.env, "BRAVE_API_KEY", "${input:brave_key}", 6);
        assert!(
            !has(&s, PLAINTEXT_SECRET) && !has(&s, SECRET_LIKE_VALUE),
            "{:?}",
            ids(&s)
        );
    }

    #[test]
    fn secret_flags_in_host_arguments() {
        let s = command(
            "node",
            &["server.js", "--api-key", "f3a9c07d2b8e4d15a6c9e0b7d4f21a8c"],
        );
        let finding = lint_server(&s, &rules())
            .into_iter()
            .find(|f| f.rule_id == SECRET_LIKE_VALUE)
            .unwrap();
        assert_eq!(finding.location, Some(at(12)));
        let s = command("node", &["server.js", "--token=glpat-9Xk2Lm4Np6Qr8St0Uv1W"]);
        assert!(has(&s, PLAINTEXT_SECRET));
        let host = lint_server(&s, &rules())
            .into_iter()
            .find(|f| f.rule_id == HOST_EXECUTION)
            .unwrap();
        assert!(!host.evidence.contains("9Xk2Lm4Np6"), "{}", host.evidence);
    }

    #[test]
    fn host_packages_must_name_an_exact_version() {
        let unpinned: &[(&str, &[&str])] = &[
            (
                "npx",
                &["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
            ),
            ("npx", &["-y", "@playwright/mcp@latest"]),
            ("npx", &["mcp-remote@^0.1.0", "https://x"]),
            ("npx.cmd", &["--yes", "some-mcp"]),
            ("npm", &["exec", "--", "some-mcp"]),
            ("pnpm", &["dlx", "some-mcp"]),
            ("uvx", &["mcp-server-fetch"]),
            ("uvx", &["--from", "mcp-server-git>=0.6", "mcp-server-git"]),
            ("uvx", &["--python", "3.12", "mcp-server-time"]),
            ("uv", &["tool", "run", "mcp-server-time"]),
            ("pipx", &["run", "mcp-server-time"]),
            ("go", &["run", "github.com/acme/mcp@latest"]),
            ("dnx", &["Acme.McpServer"]),
            ("bunx", &["github:acme/mcp"]),
        ];
        for (program, args) in unpinned {
            assert!(
                has(&command(program, args), HOST_PACKAGE_UNPINNED),
                "{program} {args:?}"
            );
        }
        let pinned: &[(&str, &[&str])] = &[
            (
                "npx",
                &[
                    "-y",
                    "@modelcontextprotocol/server-filesystem@2025.8.21",
                    "/tmp",
                ],
            ),
            ("npx", &["-y", "--package=@acme/mcp@1.2.3", "acme-mcp"]),
            (
                "npx",
                &["-p", "mcp-remote@0.1.29", "mcp-remote", "https://x"],
            ),
            ("uvx", &["mcp-server-fetch==2025.4.7"]),
            ("uvx", &["mcp-server-fetch@2025.4.7"]),
            (
                "uvx",
                &["--from", "mcp-server-git==0.6.2", "mcp-server-git"],
            ),
            (
                "uvx",
                &[
                    "--from",
                    "git+https://github.com/acme/mcp@v1.2.0",
                    "acme-mcp",
                ],
            ),
            ("go", &["run", "github.com/acme/mcp@v1.4.0"]),
            ("dnx", &["Acme.McpServer@0.4.0-beta"]),
            ("node", &["/opt/mcp/server.js"]),
            ("npx", &["./local-server"]),
            ("python", &["-m", "mcp_server_time"]),
        ];
        for (program, args) in pinned {
            assert!(
                !has(&command(program, args), HOST_PACKAGE_UNPINNED),
                "{program} {args:?}: {:?}",
                ids(&command(program, args))
            );
        }
    }

    #[test]
    fn host_execution_and_download_and_run() {
        let s = command("npx", &["-y", "pkg@1.0.0"]);
        assert_eq!(ids(&s), vec![HOST_EXECUTION]);
        let s = command(
            "bash",
            &["-c", "curl -fsSL https://get.example.com/mcp.sh | bash"],
        );
        assert!(has(&s, REMOTE_SCRIPT_EXECUTION));
        let s = command(
            "powershell",
            &["-Command", "iex (iwr https://get.example.com/mcp.ps1)"],
        );
        assert!(has(&s, REMOTE_SCRIPT_EXECUTION));
        assert!(!has(
            &command("bash", &["-c", "exec node server.js"]),
            REMOTE_SCRIPT_EXECUTION
        ));
        let gateway = command("docker", &["mcp", "gateway", "run"]);
        assert_eq!(ids(&gateway), vec![HOST_EXECUTION]);
    }

    fn remote(url: &str) -> Server {
        server(Launch::Remote {
            url: Located {
                value: url.to_string(),
                location: at(3),
            },
            transport: Transport::StreamableHttp,
        })
    }

    #[test]
    fn plain_http_off_loopback() {
        assert!(has(
            &remote("http://mcp.internal.example.com/mcp"),
            PLAINTEXT_HTTP_REMOTE
        ));
        assert!(has(
            &remote("HTTP://10.0.0.5:8080/sse"),
            PLAINTEXT_HTTP_REMOTE
        ));
        for url in [
            "https://api.githubcopilot.com/mcp/",
            "http://localhost:3000/mcp",
            "http://127.0.0.1:8931/sse",
            "http://[::1]:8080/mcp",
            "http://app.localhost/mcp",
            "http://host.docker.internal:8811/sse",
            "https://{host}/mcp",
        ] {
            assert!(
                ids(&remote(url)).is_empty(),
                "{url}: {:?}",
                ids(&remote(url))
            );
        }
    }

    #[test]
    fn secrets_in_urls() {
        assert!(has(
            &remote("https://mcp.example.com/sse?api_key=f3a9c07d2b8e4d15a6c9e0b7d4f21a8c"),
            SECRET_LIKE_VALUE
        ));
        assert!(has(
            &remote("https://mcp.example.com/mcp?token=ghp_0123456789abcdefghijABCDEFGHIJklmnop"),
            PLAINTEXT_SECRET
        ));
        assert!(ids(&remote("https://mcp.example.com/mcp?region=eu&format=json")).is_empty());
    }

    #[test]
    fn helpers() {
        assert_eq!(volume_source("/a:/b:ro").as_deref(), Some("/a"));
        assert_eq!(
            volume_source("C:\\Users\\x:/data").as_deref(),
            Some("C:\\Users\\x")
        );
        assert_eq!(volume_source("named:/data"), None);
        assert_eq!(volume_source("/anonymous"), None);
        assert_eq!(
            mount_source("type=bind,source=/x,target=/y").as_deref(),
            Some("/x")
        );
        assert_eq!(mount_source("source=/x,target=/y"), None);
        assert_eq!(program_name("C:\\nodejs\\npx.cmd"), "npx");
        let parsed = docker_args::parse_run(
            docker_args::Runtime::Docker,
            &["run".to_string(), "img".to_string()],
        );
        assert!(parsed.is_some());
    }
}
