//! `docker run` and `podman run` command lines, parsed the way the runtimes' own flag parsers read
//! them: which flags take a value, `--flag value`, `--flag=value`, joined short flags (`-it`,
//! `-eNAME=v`), then the image, then the container's own arguments. It judges nothing; the lint does.

use serde::Serialize;

/// A container runtime whose `run` is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Docker,
    Podman,
    /// containerd's Docker-compatible command line: Docker's `run` options, its own globals.
    Nerdctl,
}

impl Runtime {
    /// The runtime a command names, whatever directory or `.exe` it is written with.
    pub fn from_command(command: &str) -> Option<Runtime> {
        let base = command.rsplit(['/', '\\']).next().unwrap_or(command);
        let base = base.strip_suffix(".exe").unwrap_or(base);
        match base {
            "docker" => Some(Runtime::Docker),
            "podman" => Some(Runtime::Podman),
            "nerdctl" => Some(Runtime::Nerdctl),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Nerdctl => "nerdctl",
        }
    }
}

/// One option given to `run`. `flag` is the canonical long name without dashes (`env` for `-e`,
/// `network` for `--net`); `value` is its argument, or for a boolean flag what follows `=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOption {
    pub flag: &'static str,
    pub value: Option<String>,
    /// Index, in the runtime's argument list, of the argument holding the value (the flag
    /// itself for a boolean or a joined value).
    pub index: usize,
}

/// An argument that is not an option: the image, or one of the container's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positional {
    pub index: usize,
    pub text: String,
}

/// Something the runtime itself would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunProblem {
    pub index: usize,
    pub message: String,
}

/// A parsed `run` command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerRun {
    pub options: Vec<RunOption>,
    pub image: Option<Positional>,
    /// The container's arguments, after the image.
    pub command: Vec<Positional>,
    pub problems: Vec<RunProblem>,
}

impl DockerRun {
    /// Every use of `flag` (canonical long name), in order.
    pub fn all<'a>(&'a self, flag: &'a str) -> impl Iterator<Item = &'a RunOption> + 'a {
        self.options.iter().filter(move |o| o.flag == flag)
    }

    /// The last value given to `flag`: the one the runtime uses.
    pub fn last(&self, flag: &str) -> Option<&RunOption> {
        self.options.iter().rev().find(|o| o.flag == flag)
    }

    /// Whether boolean `flag` is on: given, and not as `--flag=false`.
    pub fn is_on(&self, flag: &str) -> bool {
        self.last(flag)
            .is_some_and(|o| !matches!(o.value.as_deref(), Some("false" | "0" | "False")))
    }
}

/// Parse the arguments that follow the runtime's name. `None` when they are not a `run` (or
/// `container run`): `docker mcp gateway run` and the like are commands on the host.
pub fn parse_run(runtime: Runtime, args: &[String]) -> Option<DockerRun> {
    let mut i = skip_global_options(runtime, args)?;
    match args.get(i).map(String::as_str) {
        Some("run") => i += 1,
        Some("container") if args.get(i + 1).map(String::as_str) == Some("run") => i += 2,
        _ => return None,
    }
    let mut run = DockerRun::default();
    while let Some(arg) = args.get(i) {
        if arg == "--" {
            i += 1;
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            i = long_option(runtime, args, i, long, &mut run);
        } else if arg.len() > 1 && arg.starts_with('-') {
            i = short_options(runtime, args, i, &mut run);
        } else {
            break;
        }
    }
    if let Some(image) = args.get(i) {
        run.image = Some(Positional {
            index: i,
            text: image.clone(),
        });
        run.command = args
            .iter()
            .enumerate()
            .skip(i + 1)
            .map(|(index, text)| Positional {
                index,
                text: text.clone(),
            })
            .collect();
    } else {
        run.problems.push(RunProblem {
            index: args.len().saturating_sub(1),
            message: format!("`{} run` names no image", runtime.as_str()),
        });
    }
    Some(run)
}

/// `--name`, `--name=value` or `--name value`; returns the index of the next argument.
fn long_option(
    runtime: Runtime,
    args: &[String],
    i: usize,
    long: &str,
    run: &mut DockerRun,
) -> usize {
    let (name, inline) = match long.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (long, None),
    };
    let Some(flag) = find_long(runtime, RUN_FLAGS, name) else {
        run.problems.push(RunProblem {
            index: i,
            message: format!("`--{name}` is not a `{} run` option", runtime.as_str()),
        });
        return i + 1;
    };
    if !flag.takes_value || inline.is_some() {
        run.options.push(RunOption {
            flag: flag.long,
            value: inline,
            index: i,
        });
        return i + 1;
    }
    take_next(runtime, args, i, flag, run)
}

/// A cluster of short flags: `-it`, `-e NAME`, `-eNAME=v`, `-e=NAME`, `-i=false`.
fn short_options(runtime: Runtime, args: &[String], i: usize, run: &mut DockerRun) -> usize {
    let cluster = &args[i][1..];
    for (offset, c) in cluster.char_indices() {
        let rest = &cluster[offset + c.len_utf8()..];
        let Some(flag) = find_short(runtime, RUN_FLAGS, c) else {
            run.problems.push(RunProblem {
                index: i,
                message: format!("`-{c}` is not a `{} run` option", runtime.as_str()),
            });
            return i + 1;
        };
        let joined = rest.strip_prefix('=').unwrap_or(rest);
        if flag.takes_value {
            if joined.is_empty() && !rest.starts_with('=') {
                return take_next(runtime, args, i, flag, run);
            }
            run.options.push(RunOption {
                flag: flag.long,
                value: Some(joined.to_string()),
                index: i,
            });
            return i + 1;
        }
        if rest.starts_with('=') {
            run.options.push(RunOption {
                flag: flag.long,
                value: Some(joined.to_string()),
                index: i,
            });
            return i + 1;
        }
        run.options.push(RunOption {
            flag: flag.long,
            value: None,
            index: i,
        });
    }
    i + 1
}

fn take_next(
    runtime: Runtime,
    args: &[String],
    i: usize,
    flag: &Flag,
    run: &mut DockerRun,
) -> usize {
    match args.get(i + 1) {
        Some(value) => {
            run.options.push(RunOption {
                flag: flag.long,
                value: Some(value.clone()),
                index: i + 1,
            });
            i + 2
        }
        None => {
            run.problems.push(RunProblem {
                index: i,
                message: format!(
                    "`--{}` needs a value in `{} run`",
                    flag.long,
                    runtime.as_str()
                ),
            });
            i + 1
        }
    }
}

/// Skip the runtime's own options before the subcommand (`docker --context x run`).
fn skip_global_options(runtime: Runtime, args: &[String]) -> Option<usize> {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let flag = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, _)) => (name, true),
                None => (long, false),
            };
            let flag = find_long(runtime, GLOBAL_FLAGS, name)?;
            if inline {
                i += 1;
                continue;
            }
            flag
        } else if let Some(short) = arg.strip_prefix('-') {
            let mut chars = short.chars();
            let flag = find_short(runtime, GLOBAL_FLAGS, chars.next()?)?;
            if chars.next().is_some() {
                i += 1;
                continue;
            }
            flag
        } else {
            return Some(i);
        };
        i += if flag.takes_value { 2 } else { 1 };
    }
    Some(i)
}

/// Which runtimes accept a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepts {
    /// Every runtime.
    Both,
    /// Docker, and nerdctl, which takes Docker's options.
    Docker,
    Podman,
    Nerdctl,
}

impl Accepts {
    fn includes(self, runtime: Runtime) -> bool {
        matches!(
            (self, runtime),
            (Accepts::Both, _)
                | (Accepts::Docker, Runtime::Docker | Runtime::Nerdctl)
                | (Accepts::Podman, Runtime::Podman)
                | (Accepts::Nerdctl, Runtime::Nerdctl)
        )
    }
}

#[derive(Debug)]
struct Flag {
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
    accepts: Accepts,
    /// Other long names for the same flag (`--net` for `--network`).
    aliases: &'static [&'static str],
}

const fn value(long: &'static str, short: Option<char>, accepts: Accepts) -> Flag {
    Flag {
        long,
        short,
        takes_value: true,
        accepts,
        aliases: &[],
    }
}

const fn boolean(long: &'static str, short: Option<char>, accepts: Accepts) -> Flag {
    Flag {
        long,
        short,
        takes_value: false,
        accepts,
        aliases: &[],
    }
}

fn find_long<'t>(runtime: Runtime, table: &'t [Flag], name: &str) -> Option<&'t Flag> {
    table
        .iter()
        .find(|f| f.accepts.includes(runtime) && (f.long == name || f.aliases.contains(&name)))
}

fn find_short(runtime: Runtime, table: &[Flag], c: char) -> Option<&Flag> {
    table
        .iter()
        .find(|f| f.accepts.includes(runtime) && f.short == Some(c))
}

use Accepts::{Both, Docker, Nerdctl, Podman};

/// Options of `docker run` (Docker 28), `podman run` (Podman 5) and `nerdctl run` (nerdctl 2).
const RUN_FLAGS: &[Flag] = &[
    value("add-host", None, Both),
    value("annotation", None, Both),
    value("arch", None, Podman),
    value("attach", Some('a'), Both),
    value("authfile", None, Podman),
    value("blkio-weight", None, Both),
    value("blkio-weight-device", None, Both),
    value("cap-add", None, Both),
    value("cap-drop", None, Both),
    value("cert-dir", None, Podman),
    value("cgroup-conf", None, Podman),
    value("cgroup-parent", None, Both),
    value("cgroupns", None, Both),
    value("cgroups", None, Podman),
    value("chrootdirs", None, Podman),
    value("cidfile", None, Both),
    value("conmon-pidfile", None, Podman),
    value("cpu-count", None, Docker),
    value("cpu-percent", None, Docker),
    value("cpu-period", None, Both),
    value("cpu-quota", None, Both),
    value("cpu-rt-period", None, Both),
    value("cpu-rt-runtime", None, Both),
    value("cpu-shares", Some('c'), Both),
    value("cpus", None, Both),
    value("cpuset-cpus", None, Both),
    value("cpuset-mems", None, Both),
    value("creds", None, Podman),
    value("decryption-key", None, Podman),
    boolean("detach", Some('d'), Both),
    value("detach-keys", None, Both),
    value("device", None, Both),
    value("device-cgroup-rule", None, Both),
    value("device-read-bps", None, Both),
    value("device-read-iops", None, Both),
    value("device-write-bps", None, Both),
    value("device-write-iops", None, Both),
    boolean("disable-content-trust", None, Docker),
    value("dns", None, Both),
    value("dns-option", None, Both),
    value("dns-search", None, Both),
    value("domainname", None, Docker),
    value("entrypoint", None, Both),
    value("env", Some('e'), Both),
    value("env-file", None, Both),
    boolean("env-host", None, Podman),
    value("env-merge", None, Podman),
    value("expose", None, Both),
    value("gidmap", None, Podman),
    value("gpus", None, Both),
    value("group-add", None, Both),
    value("group-entry", None, Podman),
    value("health-cmd", None, Both),
    value("health-interval", None, Both),
    value("health-log-destination", None, Podman),
    value("health-max-log-count", None, Podman),
    value("health-max-log-size", None, Podman),
    value("health-on-failure", None, Podman),
    value("health-retries", None, Both),
    value("health-start-interval", None, Docker),
    value("health-start-period", None, Both),
    value("health-startup-cmd", None, Podman),
    value("health-startup-interval", None, Podman),
    value("health-startup-retries", None, Podman),
    value("health-startup-success", None, Podman),
    value("health-startup-timeout", None, Podman),
    value("health-timeout", None, Both),
    boolean("help", None, Both),
    value("hostname", Some('h'), Both),
    value("hostuser", None, Podman),
    boolean("http-proxy", None, Podman),
    value("image-volume", None, Podman),
    boolean("init", None, Both),
    value("init-path", None, Podman),
    boolean("interactive", Some('i'), Both),
    value("io-maxbandwidth", None, Docker),
    value("io-maxiops", None, Docker),
    value("ip", None, Both),
    value("ip6", None, Both),
    value("ipc", None, Both),
    value("isolation", None, Docker),
    value("kernel-memory", None, Docker),
    value("label", Some('l'), Both),
    value("label-file", None, Both),
    value("link", None, Docker),
    value("link-local-ip", None, Docker),
    value("log-driver", None, Both),
    value("log-opt", None, Both),
    value("mac-address", None, Both),
    value("memory", Some('m'), Both),
    value("memory-reservation", None, Both),
    value("memory-swap", None, Both),
    value("memory-swappiness", None, Both),
    value("mount", None, Both),
    value("name", None, Both),
    Flag {
        aliases: &["net"],
        ..value("network", None, Both)
    },
    Flag {
        aliases: &["net-alias"],
        ..value("network-alias", None, Both)
    },
    boolean("no-healthcheck", None, Both),
    boolean("no-hosts", None, Podman),
    boolean("oom-kill-disable", None, Both),
    value("oom-score-adj", None, Both),
    value("os", None, Podman),
    boolean("passwd", None, Podman),
    value("passwd-entry", None, Podman),
    value("personality", None, Podman),
    value("pid", None, Both),
    value("pidfile", None, Podman),
    value("pids-limit", None, Both),
    value("platform", None, Both),
    value("pod", None, Podman),
    value("pod-id-file", None, Podman),
    value("preserve-fd", None, Podman),
    value("preserve-fds", None, Podman),
    boolean("privileged", None, Both),
    value("publish", Some('p'), Both),
    boolean("publish-all", Some('P'), Both),
    value("pull", None, Both),
    boolean("quiet", Some('q'), Both),
    value("rdt-class", None, Podman),
    boolean("read-only", None, Both),
    boolean("read-only-tmpfs", None, Podman),
    boolean("replace", None, Podman),
    value("requires", None, Podman),
    value("restart", None, Both),
    value("retry", None, Podman),
    value("retry-delay", None, Podman),
    boolean("rm", None, Both),
    boolean("rmi", None, Podman),
    value("runtime", None, Docker),
    value("sdnotify", None, Podman),
    value("seccomp-policy", None, Podman),
    value("secret", None, Podman),
    value("security-opt", None, Both),
    value("shm-size", None, Both),
    value("shm-size-systemd", None, Podman),
    boolean("sig-proxy", None, Both),
    value("stop-signal", None, Both),
    value("stop-timeout", None, Both),
    value("storage-opt", None, Both),
    value("subgidname", None, Podman),
    value("subuidname", None, Podman),
    value("sysctl", None, Both),
    value("systemd", None, Podman),
    value("timeout", None, Podman),
    boolean("tls-verify", None, Podman),
    value("tmpfs", None, Both),
    boolean("tty", Some('t'), Both),
    value("tz", None, Podman),
    value("uidmap", None, Podman),
    value("ulimit", None, Both),
    value("umask", None, Podman),
    value("unsetenv", None, Podman),
    boolean("unsetenv-all", None, Podman),
    boolean("use-api-socket", None, Docker),
    value("user", Some('u'), Both),
    value("userns", None, Both),
    value("uts", None, Both),
    value("variant", None, Podman),
    value("volume", Some('v'), Both),
    value("volume-driver", None, Docker),
    value("volumes-from", None, Both),
    value("workdir", Some('w'), Both),
    value("verify", None, Nerdctl),
    value("cosign-key", None, Nerdctl),
    value("cosign-certificate-identity", None, Nerdctl),
    value("cosign-certificate-identity-regexp", None, Nerdctl),
    value("cosign-certificate-oidc-issuer", None, Nerdctl),
    value("cosign-certificate-oidc-issuer-regexp", None, Nerdctl),
    value("ipfs-address", None, Nerdctl),
    value("snapshotter", None, Nerdctl),
];

/// Options of the runtimes themselves, written before the subcommand.
const GLOBAL_FLAGS: &[Flag] = &[
    value("config", None, Both),
    value("context", Some('c'), Docker),
    boolean("debug", Some('D'), Both),
    value("host", Some('H'), Docker),
    value("log-level", Some('l'), Docker),
    value("log-level", None, Podman),
    boolean("tls", None, Docker),
    value("tlscacert", None, Docker),
    value("tlscert", None, Docker),
    value("tlskey", None, Docker),
    boolean("tlsverify", None, Docker),
    value("cdi-spec-dir", None, Podman),
    value("cgroup-manager", None, Podman),
    value("conmon", None, Podman),
    value("connection", Some('c'), Podman),
    value("db-backend", None, Podman),
    value("events-backend", None, Podman),
    value("hooks-dir", None, Podman),
    value("identity", None, Podman),
    value("imagestore", None, Podman),
    value("module", None, Podman),
    value("network-cmd-path", None, Podman),
    value("network-config-dir", None, Podman),
    value("out", None, Podman),
    boolean("remote", Some('r'), Podman),
    value("root", None, Podman),
    value("runroot", None, Podman),
    value("runtime", None, Podman),
    value("runtime-flag", None, Podman),
    value("ssh", None, Podman),
    value("storage-driver", None, Podman),
    value("storage-opt", None, Podman),
    boolean("syslog", None, Podman),
    value("tmpdir", None, Podman),
    boolean("transient-store", None, Podman),
    value("url", None, Podman),
    value("volumepath", None, Podman),
    value("address", Some('a'), Nerdctl),
    value("namespace", Some('n'), Nerdctl),
    value("snapshotter", None, Nerdctl),
    value("cni-path", None, Nerdctl),
    value("cni-netconfpath", None, Nerdctl),
    value("data-root", None, Nerdctl),
    value("cgroup-manager", None, Nerdctl),
    boolean("insecure-registry", None, Nerdctl),
    value("hosts-dir", None, Nerdctl),
    boolean("experimental", None, Nerdctl),
    value("host-gateway-ip", None, Nerdctl),
    boolean("debug-full", None, Nerdctl),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn docker(text: &str) -> DockerRun {
        parse_run(Runtime::Docker, &args(text)).unwrap()
    }

    fn options(run: &DockerRun) -> Vec<(&str, Option<&str>, usize)> {
        run.options
            .iter()
            .map(|o| (o.flag, o.value.as_deref(), o.index))
            .collect()
    }

    #[test]
    fn the_catalogue_command_line() {
        let run = docker("run -i --rm -e GITHUB_PERSONAL_ACCESS_TOKEN mcp/github");
        assert_eq!(
            options(&run),
            vec![
                ("interactive", None, 1),
                ("rm", None, 2),
                ("env", Some("GITHUB_PERSONAL_ACCESS_TOKEN"), 4),
            ]
        );
        assert_eq!(run.image.as_ref().unwrap().text, "mcp/github");
        assert!(run.command.is_empty());
        assert!(run.problems.is_empty());
    }

    #[test]
    fn every_value_flag_takes_its_value_in_both_forms() {
        for runtime in [Runtime::Docker, Runtime::Podman] {
            for flag in RUN_FLAGS.iter().filter(|f| f.accepts.includes(runtime)) {
                let separate = vec![
                    "run".to_string(),
                    format!("--{}", flag.long),
                    "VALUE".to_string(),
                    "image".to_string(),
                ];
                let run = parse_run(runtime, &separate).unwrap();
                let expected_image = if flag.takes_value { "image" } else { "VALUE" };
                assert_eq!(
                    run.image.as_ref().unwrap().text,
                    expected_image,
                    "--{} under {runtime:?}",
                    flag.long
                );
                let joined = vec![
                    "run".to_string(),
                    format!("--{}=VALUE", flag.long),
                    "image".to_string(),
                ];
                let run = parse_run(runtime, &joined).unwrap();
                assert_eq!(run.options[0].value.as_deref(), Some("VALUE"));
                assert_eq!(
                    run.image.as_ref().unwrap().text,
                    "image",
                    "--{}=",
                    flag.long
                );
                if let Some(short) = flag.short {
                    let cluster = vec![
                        "run".to_string(),
                        format!("-{short}"),
                        "VALUE".to_string(),
                        "image".to_string(),
                    ];
                    let run = parse_run(runtime, &cluster).unwrap();
                    assert_eq!(run.options[0].flag, flag.long);
                    assert_eq!(run.image.as_ref().unwrap().text, expected_image, "-{short}");
                }
            }
        }
    }

    #[test]
    fn the_flag_tables_have_no_duplicates_per_runtime() {
        for table in [RUN_FLAGS, GLOBAL_FLAGS] {
            for runtime in [Runtime::Docker, Runtime::Podman] {
                let flags: Vec<&Flag> = table
                    .iter()
                    .filter(|f| f.accepts.includes(runtime))
                    .collect();
                for (i, a) in flags.iter().enumerate() {
                    for b in &flags[i + 1..] {
                        assert_ne!(a.long, b.long, "{runtime:?}");
                        assert!(
                            a.short.is_none() || a.short != b.short,
                            "{runtime:?} -{:?}",
                            a.short
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn joined_short_flags() {
        let run = docker("run -it --rm -eTOKEN=abc -e=OTHER -p8080:80 -itd image");
        assert_eq!(
            options(&run),
            vec![
                ("interactive", None, 1),
                ("tty", None, 1),
                ("rm", None, 2),
                ("env", Some("TOKEN=abc"), 3),
                ("env", Some("OTHER"), 4),
                ("publish", Some("8080:80"), 5),
                ("interactive", None, 6),
                ("tty", None, 6),
                ("detach", None, 6),
            ]
        );
        assert_eq!(run.image.unwrap().index, 7);
    }

    #[test]
    fn a_value_flag_in_a_cluster_takes_the_next_argument() {
        let run = docker("run -ie TOKEN image");
        assert_eq!(
            options(&run),
            vec![("interactive", None, 1), ("env", Some("TOKEN"), 2)]
        );
        assert_eq!(run.image.unwrap().text, "image");
    }

    #[test]
    fn boolean_flags_may_be_switched_off() {
        let run = docker("run --rm=false -i=false --privileged=true image");
        assert!(!run.is_on("rm"));
        assert!(!run.is_on("interactive"));
        assert!(run.is_on("privileged"));
        assert!(!run.is_on("read-only"));
    }

    #[test]
    fn the_image_ends_the_options_and_the_rest_is_the_containers() {
        let run = docker("run --rm mcp/filesystem:1.0 --read-only /projects -e X");
        assert_eq!(run.image.as_ref().unwrap().text, "mcp/filesystem:1.0");
        let command: Vec<&str> = run.command.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(command, vec!["--read-only", "/projects", "-e", "X"]);
        assert!(!run.is_on("read-only"));
    }

    #[test]
    fn a_double_dash_ends_the_options() {
        let run = docker("run --rm -- -odd-image arg");
        assert_eq!(run.image.unwrap().text, "-odd-image");
    }

    #[test]
    fn aliases_map_to_the_canonical_flag() {
        let run = docker("run --net=host --net-alias a image");
        assert_eq!(run.last("network").unwrap().value.as_deref(), Some("host"));
        assert_eq!(
            run.last("network-alias").unwrap().value.as_deref(),
            Some("a")
        );
    }

    #[test]
    fn global_options_and_container_run() {
        let run = docker("--context remote -D container run -v /:/host image");
        assert_eq!(
            run.last("volume").unwrap().value.as_deref(),
            Some("/:/host")
        );
        assert_eq!(run.image.unwrap().index, 7);
        let run = parse_run(
            Runtime::Podman,
            &args("--remote --url=ssh://x run --pod p image"),
        )
        .unwrap();
        assert_eq!(run.last("pod").unwrap().value.as_deref(), Some("p"));
    }

    #[test]
    fn podman_only_flags_are_podman_only() {
        let run = parse_run(
            Runtime::Podman,
            &args("run --userns keep-id --env-host --secret s image"),
        )
        .unwrap();
        assert!(run.problems.is_empty(), "{:?}", run.problems);
        assert_eq!(run.image.unwrap().text, "image");
        let run = docker("run --secret s image");
        assert_eq!(run.problems.len(), 1);
        assert!(run.problems[0].message.contains("--secret"));
    }

    #[test]
    fn what_the_runtime_refuses_is_recorded() {
        let run = docker("run --frobnicate -Z image");
        let messages: Vec<&str> = run.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        let run = docker("run --rm -e");
        assert!(
            run.problems
                .iter()
                .any(|p| p.message.contains("needs a value"))
        );
        assert!(run.problems.iter().any(|p| p.message.contains("no image")));
    }

    #[test]
    fn other_subcommands_are_not_runs() {
        assert!(parse_run(Runtime::Docker, &args("mcp gateway run")).is_none());
        assert!(parse_run(Runtime::Docker, &args("compose up")).is_none());
        assert!(parse_run(Runtime::Docker, &args("--unknown-global run image")).is_none());
        assert!(parse_run(Runtime::Docker, &[]).is_none());
    }

    #[test]
    fn runtimes_are_recognised_by_their_command() {
        assert_eq!(Runtime::from_command("docker"), Some(Runtime::Docker));
        assert_eq!(
            Runtime::from_command("/usr/local/bin/docker"),
            Some(Runtime::Docker)
        );
        assert_eq!(
            Runtime::from_command("C:\\Program Files\\Docker\\docker.exe"),
            Some(Runtime::Docker)
        );
        assert_eq!(Runtime::from_command("podman"), Some(Runtime::Podman));
        assert_eq!(Runtime::from_command("npx"), None);
    }
}
