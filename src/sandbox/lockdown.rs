//! The locked-down `run` command line of a capture container (no network, read-only root, no
//! capabilities, limits, non-root, placeholder secrets). Of the config's own `docker run` it keeps
//! only what names the program to start; mounts, networks and privileges are never obeyed here.

use crate::config::docker_args::DockerRun;
use sha2::{Digest, Sha256};

/// uid:gid of `nobody`, used when the image would run as root.
pub const UNPRIVILEGED_USER: &str = "65534:65534";
pub const MEMORY: &str = "512m";
pub const CPUS: &str = "1";
pub const PIDS: &str = "128";
pub const TMPFS: &str = "/tmp:rw,noexec,nosuid,nodev,size=64m";
/// The options of the tmpfs over each volume the image declares.
pub const VOLUME_TMPFS: &str = "rw,noexec,nosuid,nodev,size=64m";

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
    /// Where the image declares volumes: each gets a tmpfs, never a volume.
    pub volumes: &'a [String],
}

/// An image's account files, to resolve a user or group name to its id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    pub passwd: String,
    pub group: String,
}

/// Whether resolving `user` (`USER[:GROUP]`) needs the image's account files: a name, or a
/// user without a group, whose group the image's `/etc/passwd` gives.
pub fn needs_accounts(user: &str) -> bool {
    match user.split_once(':') {
        Some((user, group)) => user.parse::<u32>().is_err() || group.parse::<u32>().is_err(),
        None => !user.is_empty(),
    }
}

/// The numeric uid and gid a `--user` or image `User` value runs as, resolved the way the
/// runtime does (a number is an id, `+0` and `00` too; a name is looked up in the image's
/// files); `None` when the runtime could not resolve it either. Empty is the image's default,
/// root.
pub fn resolve_user(user: &str, accounts: Option<&Accounts>) -> Option<(u32, u32)> {
    let (name, group) = match user.split_once(':') {
        Some((name, group)) => (name, Some(group)),
        None => (user, None),
    };
    if name.is_empty() {
        return Some((0, 0));
    }
    let passwd = accounts.map_or("", |a| a.passwd.as_str());
    let entry = |matches: &dyn Fn(&str, u32) -> bool| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            let uid = fields.get(2)?.parse::<u32>().ok()?;
            let gid = fields.get(3)?.parse::<u32>().ok()?;
            matches(fields[0], uid).then_some((uid, gid))
        })
    };
    let (uid, default_gid) = match name.parse::<u32>() {
        // A uid the image does not list still runs, in group 0.
        Ok(uid) => entry(&|_, u| u == uid).unwrap_or((uid, 0)),
        Err(_) => entry(&|n, _| n == name)?,
    };
    let gid = match group {
        None => default_gid,
        Some(group) => match group.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => accounts?.group.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.first() == Some(&group)).then_some(())?;
                fields.get(2)?.parse::<u32>().ok()
            })?,
        },
    };
    Some((uid, gid))
}

/// The user to run as: the config's, else the image's, by their resolved ids, when the user is
/// not root; else `nobody`. Group 0 is never kept.
pub fn choose_user(
    config_user: Option<&str>,
    image_user: &str,
    accounts: Option<&Accounts>,
) -> User {
    let unprivileged = |user: &str| resolve_user(user, accounts).filter(|&(uid, _)| uid != 0);
    match config_user
        .and_then(unprivileged)
        .or_else(|| unprivileged(image_user))
    {
        Some((uid, 0)) => User::Given(format!("{uid}:65534")),
        Some((uid, gid)) => User::Given(format!("{uid}:{gid}")),
        None => User::Given(UNPRIVILEGED_USER.to_string()),
    }
}

/// Whether the image's own user is root, by its resolved uid.
pub fn is_root(image_user: &str, accounts: Option<&Accounts>) -> bool {
    resolve_user(image_user, accounts).is_some_and(|(uid, _)| uid == 0)
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
    // `/tmp` has its tmpfs already.
    for volume in spec.volumes.iter().filter(|v| *v != "/tmp") {
        args.extend(["--tmpfs".to_string(), format!("{volume}:{VOLUME_TMPFS}")]);
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
        args.extend([
            "--env".to_string(),
            format!("{name}={}", placeholder(&name)),
        ]);
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

/// The value variable `name` gets inside the sandbox, shaped like what its name says it holds
/// and the same at every run: real secrets never enter the sandbox, a server cannot tell it is
/// audited by one constant value, and a server that shows its env gives the same capture twice.
pub fn placeholder(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let has = |word: &str| upper.split('_').any(|part| part == word);
    let ends = |suffix: &str| upper.ends_with(suffix);
    const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let random = |alphabet: &str, len: usize| letters(&upper, alphabet, len);
    if ends("URL") || ends("URI") || ends("DSN") || ends("ENDPOINT") {
        let password = random(ALNUM, 16);
        return if has("POSTGRES") || has("PG") || has("DATABASE") || has("DB") {
            format!("postgresql://app:{password}@db.internal:5432/app")
        } else if has("REDIS") {
            format!("redis://default:{password}@cache.internal:6379/0")
        } else if has("MONGO") || has("MONGODB") {
            format!("mongodb://app:{password}@mongo.internal:27017/app")
        } else {
            "https://api.internal.example.com".to_string()
        };
    }
    let value = match upper.rsplit('_').next().unwrap_or("") {
        "PORT" => "8443",
        "HOST" | "HOSTNAME" | "SERVER" | "DOMAIN" => "api.internal.example.com",
        "REGION" => "us-east-1",
        "EMAIL" => "ops@example.com",
        "USER" | "USERNAME" | "LOGIN" | "OWNER" | "ORG" => "deploy",
        "PATH" | "DIR" | "FILE" | "HOME" | "ROOT" => "/tmp",
        "LEVEL" => "info",
        "ENV" | "ENVIRONMENT" | "MODE" => "production",
        "ID" if ends("ACCESS_KEY_ID") => return format!("AKIA{}", random(UPPER, 16)),
        "ID" => return random(UPPER, 11),
        _ => "",
    };
    if !value.is_empty() {
        return value.to_string();
    }
    if has("GITHUB") || has("GH") {
        format!("ghp_{}", random(ALNUM, 36))
    } else if has("GITLAB") {
        format!("glpat-{}", random(ALNUM, 20))
    } else if has("SLACK") {
        format!("xoxb-{}-{}", random("0123456789", 12), random(ALNUM, 24))
    } else if has("OPENAI") {
        format!("sk-proj-{}", random(ALNUM, 48))
    } else if has("ANTHROPIC") {
        format!("sk-ant-api03-{}", random(ALNUM, 64))
    } else if has("AWS") && has("SECRET") {
        random(ALNUM, 40)
    } else {
        random(ALNUM, 32)
    }
}

/// `len` characters of `alphabet` drawn from the hash of `seed`.
fn letters(seed: &str, alphabet: &str, len: usize) -> String {
    let alphabet = alphabet.as_bytes();
    let mut out = String::with_capacity(len);
    let mut round = 0u32;
    while out.len() < len {
        let digest = Sha256::digest(format!("{seed}\n{round}").as_bytes());
        for byte in digest.iter().take(len - out.len()) {
            out.push(char::from(alphabet[usize::from(*byte) % alphabet.len()]));
        }
        round += 1;
    }
    out
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
            volumes: &["/data".to_string(), "/tmp".to_string()],
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
            choose_user(Some("root"), "", None),
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
        for name in ["TOKEN", "PASSED", "FROM_FILE"] {
            let value = format!("{name}={}", placeholder(name));
            assert!(has_pair(&args, "--env", &value), "{line}");
        }
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
        let accounts = Accounts {
            passwd: "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\nnode:x:1000:1000::/:/bin/sh\nops:x:1001:0::/:/bin/sh\n".into(),
            group: "root:x:0:\nnode:x:1000:\nwheel:x:10:\n".into(),
        };
        let nobody = User::Given(UNPRIVILEGED_USER.into());
        let given = |user: &str| User::Given(user.into());
        let image_user = |user: &str| choose_user(None, user, Some(&accounts));
        for root in [
            "",
            "root",
            "toor",
            "0",
            "00",
            "+0",
            "0:0",
            "+0:+0",
            "toor:wheel",
            "ghost",
        ] {
            assert_eq!(image_user(root), nobody, "{root}");
            assert_eq!(
                choose_user(Some(root), "", Some(&accounts)),
                nobody,
                "{root}"
            );
        }
        assert_eq!(image_user("node"), given("1000:1000"));
        assert_eq!(image_user("1000"), given("1000:1000"));
        assert_eq!(image_user("node:wheel"), given("1000:10"));
        assert_eq!(image_user("ops"), given("1001:65534"), "never group 0");
        assert_eq!(image_user("2000"), given("2000:65534"), "a uid not listed");
        assert_eq!(choose_user(Some("1000:1000"), "", None), given("1000:1000"));
        assert_eq!(
            choose_user(Some("toor"), "node", Some(&accounts)),
            given("1000:1000")
        );
        assert_eq!(choose_user(None, "node", None), nobody, "no files, no name");
        assert!(is_root("toor", Some(&accounts)) && is_root("00", None));
        assert!(!is_root("node", Some(&accounts)) && !is_root("ghost", Some(&accounts)));
        assert!(!needs_accounts("1000:1000") && !needs_accounts(""));
        assert!(needs_accounts("1000") && needs_accounts("toor") && needs_accounts("0:wheel"));
    }

    #[test]
    fn every_declared_volume_gets_a_tmpfs() {
        let args = arguments(
            &[
                "run",
                "-i",
                "-v",
                "/:/host",
                "--volumes-from",
                "other",
                "server",
            ],
            User::ImageRoot,
        );
        let line = args.join(" ");
        assert!(
            has_pair(&args, "--tmpfs", &format!("/data:{VOLUME_TMPFS}")),
            "{line}"
        );
        assert_eq!(line.matches("--tmpfs").count(), 2, "/tmp once: {line}");
        assert!(
            !line.contains("/host") && !line.contains("other") && !line.contains("--volume"),
            "{line}"
        );
    }

    #[test]
    fn placeholders_look_like_what_they_stand_for() {
        let github = placeholder("GITHUB_PERSONAL_ACCESS_TOKEN");
        assert!(github.starts_with("ghp_") && github.len() == 40, "{github}");
        assert_eq!(github, placeholder("GITHUB_PERSONAL_ACCESS_TOKEN"));
        assert_ne!(placeholder("API_KEY"), placeholder("OTHER_KEY"));
        assert_eq!(placeholder("API_KEY").len(), 32);
        assert!(placeholder("DATABASE_URL").starts_with("postgresql://"));
        assert!(placeholder("SERVICE_URL").starts_with("https://"));
        assert!(placeholder("REDIS_PORT").parse::<u16>().is_ok());
        assert_eq!(placeholder("AWS_REGION"), "us-east-1");
        assert!(placeholder("AWS_ACCESS_KEY_ID").starts_with("AKIA"));
        for name in [
            "TOKEN",
            "GITHUB_TOKEN",
            "DATABASE_URL",
            "SLACK_BOT_TOKEN",
            "X",
            "LOG_LEVEL",
        ] {
            let value = placeholder(name);
            assert!(!value.to_lowercase().contains("mcp"), "{name}={value}");
            assert!(
                !value.to_lowercase().contains("placeholder"),
                "{name}={value}"
            );
        }
    }
}
