//! The locked-down `run` command line of a capture container (no network, read-only root, no
//! capabilities, limits, non-root, placeholder secrets). Of the config's own `docker run` it keeps
//! only what names the program to start; mounts, networks and privileges are never obeyed here.

use crate::config::docker_args::DockerRun;

/// The value every env variable gets inside the sandbox: real secrets never enter it.
pub const PLACEHOLDER: &str = "mcp-audit-placeholder";
/// uid:gid of `nobody`, used when the image would run as root.
pub const UNPRIVILEGED_USER: &str = "65534:65534";
pub const MEMORY: &str = "512m";
pub const CPUS: &str = "1";
pub const PIDS: &str = "128";
pub const TMPFS: &str = "/tmp:rw,noexec,nosuid,nodev,size=64m";

/// Who the container runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// This user (`uid:gid`, a name from the image, …), passed as `--user`.
    Given(String),
    /// The image's own user, which is root: the fallback for a server that cannot start
    /// unprivileged.
    ImageRoot,
}

/// Everything a capture container is started with, beyond the lock-down itself.
#[derive(Debug, Clone)]
pub struct ContainerSpec<'a> {
    pub name: &'a str,
    /// The image to run: the digest the supply-chain stage resolved, or the config's reference.
    pub image: &'a str,
    pub labels: Vec<(&'static str, String)>,
    pub user: User,
    pub run: &'a DockerRun,
    /// Env variable names the config's `--env-file` files hold.
    pub env_file_names: Vec<String>,
}

/// The user to run as: the config's or the image's when it is not root, else `nobody`.
pub fn choose_user(config_user: Option<&str>, image_user: &str) -> User {
    match config_user {
        Some(user) if !is_root(user) => User::Given(user.to_string()),
        _ if !is_root(image_user) => User::Given(image_user.to_string()),
        _ => User::Given(UNPRIVILEGED_USER.to_string()),
    }
}

/// Whether a `--user` or image `User` value means root (empty: the image's default, root).
pub fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name.is_empty() || name == "root" || name == "0"
}

/// The runtime's arguments, `run` first.
pub fn run_arguments(spec: &ContainerSpec<'_>) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--interactive",
        "--rm",
        "--pull",
        "never",
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        TMPFS,
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--memory",
        MEMORY,
        "--memory-swap",
        MEMORY,
        "--cpus",
        CPUS,
        "--pids-limit",
        PIDS,
        // Output is read over the attached pipes; a flood must not also fill the engine's disk.
        "--log-driver",
        "none",
    ]
    .map(str::to_string)
    .to_vec();
    args.extend(["--name".to_string(), spec.name.to_string()]);
    for (key, value) in &spec.labels {
        args.extend(["--label".to_string(), format!("{key}={value}")]);
    }
    if let User::Given(user) = &spec.user {
        args.extend(["--user".to_string(), user.clone()]);
    }
    for flag in ["entrypoint", "workdir", "platform"] {
        if let Some(value) = spec.run.last(flag).and_then(|o| o.value.clone()) {
            args.extend([format!("--{flag}"), value]);
        }
    }
    if spec.run.is_on("init") {
        args.push("--init".to_string());
    }
    for name in env_names(spec.run, &spec.env_file_names) {
        args.extend(["--env".to_string(), format!("{name}={PLACEHOLDER}")]);
    }
    args.push(spec.image.to_string());
    args.extend(spec.run.command.iter().map(|p| p.text.clone()));
    args
}

/// Names of the env variables the config passes into the container, each once, in order.
fn env_names(run: &DockerRun, env_file_names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let given = run
        .all("env")
        .filter_map(|o| o.value.as_deref())
        .map(|v| v.split_once('=').map_or(v, |(name, _)| name).to_string());
    for name in given.chain(env_file_names.iter().cloned()) {
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The variable names of an `--env-file`'s text; values are never kept.
pub fn env_file_names(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_once('=')
                .map_or(l, |(name, _)| name)
                .trim()
                .to_string()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::docker_args::{Runtime, parse_run};

    fn run_of(args: &[&str]) -> DockerRun {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        parse_run(Runtime::Docker, &args).unwrap()
    }

    fn arguments(config: &[&str], user: User) -> Vec<String> {
        let run = run_of(config);
        run_arguments(&ContainerSpec {
            name: "mcp-audit-x-1",
            image: "registry.example/server@sha256:abc",
            labels: vec![("mcp-audit.capture", "1".to_string())],
            user,
            run: &run,
            env_file_names: vec!["FROM_FILE".to_string()],
        })
    }

    fn has_pair(args: &[String], flag: &str, value: &str) -> bool {
        args.windows(2).any(|w| w[0] == flag && w[1] == value)
    }

    #[test]
    fn the_config_s_dangerous_options_are_never_passed() {
        let args = arguments(
            &[
                "run",
                "-i",
                "--rm",
                "--privileged",
                "--network",
                "host",
                "-v",
                "/:/host",
                "--cap-add",
                "SYS_ADMIN",
                "--pid=host",
                "--device",
                "/dev/kvm",
                "-p",
                "80:80",
                "--security-opt",
                "seccomp=unconfined",
                "-t",
                "-d",
                "--user",
                "root",
                "server:1",
                "--flag",
                "arg",
            ],
            choose_user(Some("root"), ""),
        );
        let line = args.join(" ");
        for banned in [
            "--privileged",
            "host",
            "/:/host",
            "SYS_ADMIN",
            "/dev/kvm",
            "80:80",
            "unconfined",
            "-t",
            "-d",
            "root",
            "server:1",
        ] {
            assert!(!args.iter().any(|a| a == banned), "{banned} in {line}");
        }
        assert!(has_pair(&args, "--network", "none"), "{line}");
        assert!(has_pair(&args, "--cap-drop", "ALL"), "{line}");
        assert!(
            has_pair(&args, "--security-opt", "no-new-privileges"),
            "{line}"
        );
        assert!(has_pair(&args, "--user", UNPRIVILEGED_USER), "{line}");
        assert!(has_pair(&args, "--tmpfs", TMPFS), "{line}");
        assert!(args.contains(&"--read-only".to_string()), "{line}");
        let image_at = args
            .iter()
            .position(|a| a == "registry.example/server@sha256:abc")
            .unwrap();
        assert_eq!(
            args[image_at + 1..],
            ["--flag", "arg"],
            "the container's arguments follow"
        );
    }

    #[test]
    fn env_values_are_placeholders() {
        let args = arguments(
            &[
                "run",
                "-i",
                "-e",
                "TOKEN=ghp_realsecret",
                "-e",
                "PASSED",
                "--env=TOKEN=again",
                "server",
            ],
            User::ImageRoot,
        );
        let line = args.join(" ");
        assert!(
            !line.contains("ghp_realsecret") && !line.contains("again"),
            "{line}"
        );
        assert!(
            has_pair(&args, "--env", &format!("TOKEN={PLACEHOLDER}")),
            "{line}"
        );
        assert!(
            has_pair(&args, "--env", &format!("PASSED={PLACEHOLDER}")),
            "{line}"
        );
        assert!(
            has_pair(&args, "--env", &format!("FROM_FILE={PLACEHOLDER}")),
            "{line}"
        );
        assert_eq!(line.matches("TOKEN=").count(), 1, "{line}");
        assert!(
            !args.contains(&"--user".to_string()),
            "the image's own user: {line}"
        );
    }

    #[test]
    fn what_starts_the_program_is_kept() {
        let args = arguments(
            &[
                "run",
                "-i",
                "--entrypoint",
                "/bin/server",
                "-w",
                "/app",
                "--init",
                "server",
            ],
            User::Given("1000".to_string()),
        );
        assert!(has_pair(&args, "--entrypoint", "/bin/server"));
        assert!(has_pair(&args, "--workdir", "/app"));
        assert!(args.contains(&"--init".to_string()));
        assert!(has_pair(&args, "--user", "1000"));
    }

    #[test]
    fn a_non_root_user_is_kept_and_root_is_replaced() {
        assert_eq!(choose_user(None, ""), User::Given(UNPRIVILEGED_USER.into()));
        assert_eq!(
            choose_user(None, "0:0"),
            User::Given(UNPRIVILEGED_USER.into())
        );
        assert_eq!(choose_user(None, "node"), User::Given("node".into()));
        assert_eq!(
            choose_user(Some("1000:1000"), ""),
            User::Given("1000:1000".into())
        );
        assert_eq!(choose_user(Some("root"), "app"), User::Given("app".into()));
    }

    #[test]
    fn env_files_give_names_only() {
        assert_eq!(
            env_file_names("# comment\nA=1\n\nB\n C = x \n"),
            ["A", "B", "C"]
        );
    }
}
