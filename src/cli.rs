//! The command line, defined once with clap; every flag says what it is for. Nothing here runs.

use clap::{Args, Parser, Subcommand};
use mcp_audit::finding::Severity;
use mcp_audit::report::Format;
use mcp_audit::sandbox::RuntimeChoice;
use std::path::PathBuf;

/// Audit MCP servers for tool poisoning, shadowing, rug pulls and tampered images before an
/// agent is allowed to use them.
#[derive(Debug, Parser)]
#[command(name = "mcp-audit", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan servers and report what is wrong with them.
    Scan(Box<ScanArgs>),
    /// Start each container server of the configs in the sandbox and save what it offers, one
    /// JSON capture file per server, for `scan --tools`.
    Capture(Box<CaptureCommandArgs>),
    /// Pin what each server shows today (launch, image digest, signer, every tool, prompt,
    /// resource and template) in `mcp-audit.lock`, so a later `scan` reports every change since.
    Lock(Box<LockArgs>),
    /// List or explain the rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write, check or describe the policy file (`mcp-audit.toml`): the organisation's trusted
    /// perimeter and each agent's scope.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// MCP client configs, or directories to search for them. With no PATH and no `--tools`,
    /// the current directory is searched.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A saved capture or `tools/list` result to pin as it is, one server per file, named by
    /// the file's stem. Repeatable.
    #[arg(long = "tools", value_name = "FILE")]
    pub tools: Vec<PathBuf>,

    /// The lockfile to write (default: `mcp-audit.lock` beside the first config).
    #[arg(long, value_name = "PATH")]
    pub lockfile: Option<PathBuf>,

    /// Re-approve servers that changed since they were locked: the named ones, or all when
    /// none is named. The diffs are printed. Without it, a changed server keeps its old entry
    /// and `lock` exits with 1.
    #[arg(long, value_name = "SERVER", num_args = 0..)]
    pub update: Option<Vec<String>>,

    #[command(flatten)]
    pub capture: CaptureArgs,

    /// Container servers captured at once (default: one per core).
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub supply: SupplyArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// MCP client configs to read, or directories to search for them. A file is read whatever
    /// its name, its format told by its content; a directory is searched for the config file
    /// names clients use. With no PATH and no `--tools`, the current directory is searched.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A saved `tools/list` result (`{"tools": [...]}`), a JSON-RPC response carrying one, a
    /// JSON array of tools, or a capture written by mcp-audit. Each file is one server, named
    /// by the file's stem. Repeat for several servers.
    #[arg(long = "tools", value_name = "FILE")]
    pub tools: Vec<PathBuf>,

    /// Touch no registry and start no container: report only what the files show. The mode
    /// for a quick pre-commit check.
    #[arg(long)]
    pub offline: bool,

    #[command(flatten)]
    pub capture: CaptureArgs,

    /// Name the server of a single `--tools` file instead of using the file's stem.
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Exit with 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value_t = Severity::High, value_name = "SEVERITY")]
    pub fail_on: Severity,

    /// A directory of extra rule files (`*.yaml`), in the built-in rules' format. Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,

    /// Worker threads for the rule engine, and container servers captured at once (default:
    /// one per core).
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The lockfile to compare with, instead of an `mcp-audit.lock` found beside the first
    /// config. Every difference is a `rug-pull` finding.
    #[arg(long, value_name = "PATH")]
    pub lockfile: Option<PathBuf>,

    /// Fail (exit 1) on any difference from the lockfile at all, whatever `--fail-on` says,
    /// and fail (exit 2) when there is no lockfile: the mode for CI.
    #[arg(long)]
    pub locked: bool,

    #[command(flatten)]
    pub supply: SupplyArgs,
}

/// How container servers are captured: started in a locked-down container (no network, read-only
/// root, no capabilities, placeholder secrets) and listed over MCP.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The container runtime: `auto` takes Docker when it answers, else Podman.
    #[arg(long, value_enum, default_value_t = RuntimeChoice::Auto, value_name = "RUNTIME")]
    pub runtime: RuntimeChoice,

    /// Seconds one server may take, from container start to its last list; past it the
    /// container is removed and the server reported.
    #[arg(long, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECONDS))]
    pub timeout: u64,

    /// The client name the capture gives servers. It defaults to a mainstream client's, so a
    /// server cannot show a scanner a cleaner face than the agent it will serve.
    #[arg(long, default_value = "claude-ai", value_name = "NAME")]
    pub client_name: String,

    /// The client version the capture gives servers.
    #[arg(long, default_value = "0.1.0", value_name = "VERSION")]
    pub client_version: String,

    /// The start of every capture container's name; tests set their own.
    #[arg(long, hide = true, default_value = "mcp-audit", value_name = "PREFIX")]
    pub container_prefix: String,
}

#[derive(Debug, Args)]
pub struct CaptureCommandArgs {
    /// MCP client configs, or directories to search for them; each container server in them
    /// is captured. With no PATH, the current directory is searched.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The directory to write the capture files to (`SERVER.json`), created when missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    #[command(flatten)]
    pub capture: CaptureArgs,

    /// Container servers captured at once (default: one per core).
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub supply: SupplyArgs,
}

/// The registry stage: how images are resolved and whose signatures are trusted. Flags that
/// name signers apply to every image; `mcp-audit.toml` can say more per server or image.
#[derive(Debug, Args)]
#[command(next_help_heading = "Supply chain")]
pub struct SupplyArgs {
    /// The platform whose manifest is picked from a multi-platform image, when the server's
    /// `docker run --platform` names none.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", default_value = "linux/amd64")]
    pub platform: String,

    /// A registry (`HOST:PORT`) to speak plain HTTP to. Loopback registries always are, as
    /// Docker does; any other registry is spoken to over HTTPS only. Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    pub insecure_registries: Vec<String>,

    /// The repository where signatures are stored instead of each image's own (cosign's
    /// `COSIGN_REPOSITORY`).
    #[arg(long, value_name = "REPOSITORY", env = "COSIGN_REPOSITORY")]
    pub signature_repository: Option<String>,

    /// A PEM public key (ECDSA P-256/P-384, RSA, Ed25519) that signatures are verified with.
    /// Every image must then be signed by it (or an accepted identity). Repeatable.
    #[arg(long = "key", value_name = "FILE")]
    pub keys: Vec<PathBuf>,

    /// The exact certificate identity (email or URI) a keyless signature must carry.
    #[arg(long, value_name = "IDENTITY")]
    pub certificate_identity: Option<String>,

    /// A regular expression the whole certificate identity of a keyless signature must match.
    #[arg(long, value_name = "REGEX", conflicts_with = "certificate_identity")]
    pub certificate_identity_regexp: Option<String>,

    /// The OIDC issuer a keyless signature's certificate must name, such as
    /// `https://token.actions.githubusercontent.com`.
    #[arg(long, value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,

    /// A Sigstore `trusted_root.json` to verify keyless signatures against, offline. Default:
    /// the Sigstore public-good root built into mcp-audit.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

/// Which policy file holds the configs to a perimeter and scopes, and says which signatures
/// images need: one flag for every command that reads configs.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The policy file. Default: `mcp-audit.toml` beside a config (or in a directory scanned),
    /// else at the root of the repository holding the first config.
    #[arg(long = "policy", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List every rule: id, severity, category, name and summary.
    List {
        /// A directory of extra rule files to list with the built-in ones. Repeatable.
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Show one rule in full: its help, matchers and examples.
    Show {
        /// The rule's id, such as MCP101.
        id: String,
        /// A directory of extra rule files. Repeatable.
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write a policy that admits exactly what the configs use today (images with their
    /// digests, and the digests and signers `mcp-audit.lock` beside them recorded; host packages
    /// with their versions; remote URLs; one scope per config), with comments, to tighten from
    /// there.
    Init {
        /// MCP client configs, or directories to search for them. With none, the current
        /// directory is searched.
        #[arg(value_name = "CONFIG")]
        configs: Vec<PathBuf>,
        /// Where to write the policy: a file, or `-` for standard output. Default:
        /// `mcp-audit.toml` beside the first config.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing policy file; without it, an existing file is never overwritten.
        #[arg(long)]
        force: bool,
    },
    /// Validate a policy file and report every problem with its line; exit 1 when there is any.
    Check {
        /// The policy file. Default: `mcp-audit.toml` here, else at the repository's root.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Print the JSON Schema of the policy format, for editors to complete and validate with.
    Schema,
}

/// The longest `--timeout`: a day. Past it a deadline only overflows the clock's arithmetic.
const MAX_TIMEOUT_SECONDS: u64 = 24 * 60 * 60;

/// The most `--jobs`: each job is a thread and, while capturing, a container; more than this
/// exhausts the machine rather than speeding anything up.
const MAX_JOBS: usize = 256;

/// `--jobs N`, from 0 (one per core) to [`MAX_JOBS`].
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(jobs) if jobs <= MAX_JOBS => Ok(jobs),
        _ => Err(format!(
            "expected a whole number from 0 (one per core) to {MAX_JOBS}"
        )),
    }
}
