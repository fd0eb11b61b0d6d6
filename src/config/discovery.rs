//! Finding config files: which file names are MCP client configs, and walking a directory tree
//! for them. It reads no file's content; whether a generic `settings.json` or `config.yaml` holds
//! MCP servers is for the readers to say.

use super::ConfigFormat;
use crate::finding::visible_whole;
use std::path::{Path, PathBuf};

/// How sure a file's name makes us that it is an MCP config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The name says so (`claude_desktop_config.json`, `.mcp.json`, `.cursor/mcp.json`): a
    /// malformed one is an error, and one with no servers is still reported as read.
    Dedicated,
    /// A client's settings file that may hold servers (`.vscode/settings.json`,
    /// `.codex/config.toml`): a malformed one is an error; one without servers is skipped.
    ClientFile,
    /// A generic name elsewhere (`settings.json`, `config.yaml`, `server.json`): read only when
    /// it parses and holds an MCP config.
    Maybe,
    /// Named on the command line: it must parse and be an MCP config.
    Named,
}

/// A file worth reading, and how sure we are of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub claim: Claim,
}

/// Directory names come from the tree searched: shown with control characters made visible.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot list {}: {source}", visible_whole(dir))]
    Walk { dir: String, source: std::io::Error },
    #[error(
        "no MCP config found under {} (looked for {names})",
        visible_whole(dir)
    )]
    NothingFound { dir: String, names: String },
}

/// Names that are MCP configs wherever they are, and the format each holds.
const DEDICATED: &[(&str, ConfigFormat)] = &[
    ("claude_desktop_config.json", ConfigFormat::McpServers),
    (".mcp.json", ConfigFormat::McpServers),
    (".claude.json", ConfigFormat::McpServers),
    ("mcp_config.json", ConfigFormat::McpServers),
    ("cline_mcp_settings.json", ConfigFormat::McpServers),
    ("opencode.json", ConfigFormat::OpenCode),
    ("opencode.jsonc", ConfigFormat::OpenCode),
];

/// `mcp.json` in these client directories is dedicated; elsewhere it is a maybe.
const MCP_JSON_DIRS: &[&str] = &[".cursor", ".vscode", ".roo", "settings"];

/// Directories that hold client settings, by the file names they keep there.
const CLIENT_FILES: &[(&str, &[&str])] = &[
    (
        "settings.json",
        &[".vscode", ".gemini", ".zed", "zed", "Code", "User"],
    ),
    ("config.toml", &[".codex"]),
    ("config.yaml", &[".continue", "goose"]),
    ("config.yml", &[".continue", "goose"]),
];

/// Generic names read when their content is an MCP config.
const MAYBE: &[&str] = &[
    "mcp.json",
    "settings.json",
    "config.toml",
    "config.yaml",
    "config.yml",
    "server.yaml",
    "server.json",
];

/// Directories never searched: dependencies, build output and version control hold copies of
/// other people's configs, not this project's.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
];

/// Whether a path names a config, judged by its name and its directory.
pub fn claim(path: &Path) -> Option<Claim> {
    let name = path.file_name()?.to_str()?;
    let parent = parent_name(path);
    if DEDICATED.iter().any(|(n, _)| *n == name) {
        return Some(Claim::Dedicated);
    }
    if name == "mcp.json" && parent.is_some_and(|p| MCP_JSON_DIRS.contains(&p)) {
        // `settings/mcp.json` only under `.kiro`.
        if parent == Some("settings") && grandparent_name(path) != Some(".kiro") {
            return Some(Claim::Maybe);
        }
        return Some(Claim::Dedicated);
    }
    if CLIENT_FILES
        .iter()
        .any(|(n, dirs)| *n == name && parent.is_some_and(|p| dirs.contains(&p)))
    {
        return Some(Claim::ClientFile);
    }
    // Continue keeps one file per server block in `.continue/mcpServers/`.
    if parent == Some("mcpServers")
        && grandparent_name(path) == Some(".continue")
        && (name.ends_with(".yaml") || name.ends_with(".yml"))
    {
        return Some(Claim::ClientFile);
    }
    MAYBE.contains(&name).then_some(Claim::Maybe)
}

/// The format a dedicated file name implies, for a file that declares no server yet.
pub fn format_by_name(path: &Path) -> Option<ConfigFormat> {
    let name = path.file_name()?.to_str()?;
    DEDICATED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, format)| *format)
        .or_else(|| (name == "mcp.json").then_some(ConfigFormat::McpServers))
}

/// Every file name discovery looks for, for messages.
pub fn known_names() -> String {
    let mut names: Vec<String> = DEDICATED.iter().map(|(n, _)| n.to_string()).collect();
    names.extend(MCP_JSON_DIRS.iter().map(|d| {
        if *d == "settings" {
            ".kiro/settings/mcp.json".to_string()
        } else {
            format!("{d}/mcp.json")
        }
    }));
    names.push(".continue/mcpServers/*.yaml".to_string());
    names.extend(MAYBE.iter().map(|n| n.to_string()));
    names.dedup();
    names.join(", ")
}

/// Every candidate config below `dir`, in path order. Symbolic links to directories are not
/// followed, so a link cycle cannot trap the walk. A subdirectory that cannot be listed (a
/// container's root-owned data directory) is passed over; `dir` itself must be listable.
pub fn discover(dir: &Path) -> Result<Vec<Candidate>, DiscoveryError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(_) if current != dir => continue,
            Err(source) => {
                return Err(DiscoveryError::Walk {
                    dir: current.display().to_string(),
                    source,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| DiscoveryError::Walk {
                dir: current.display().to_string(),
                source,
            })?;
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() {
                if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                    pending.push(path);
                }
                continue;
            }
            let is_file = kind.is_file() || (kind.is_symlink() && path.is_file());
            if is_file && let Some(claim) = claim(&path) {
                found.push(Candidate { path, claim });
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn parent_name(path: &Path) -> Option<&str> {
    path.parent()?.file_name()?.to_str()
}

fn grandparent_name(path: &Path) -> Option<&str> {
    path.parent()?.parent()?.file_name()?.to_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim_of(path: &str) -> Option<Claim> {
        claim(Path::new(path))
    }

    #[test]
    fn names_are_claimed_by_how_sure_they_make_us() {
        assert_eq!(
            claim_of("claude_desktop_config.json"),
            Some(Claim::Dedicated)
        );
        assert_eq!(claim_of("repo/.mcp.json"), Some(Claim::Dedicated));
        assert_eq!(claim_of("repo/.cursor/mcp.json"), Some(Claim::Dedicated));
        assert_eq!(claim_of("repo/.vscode/mcp.json"), Some(Claim::Dedicated));
        assert_eq!(
            claim_of("repo/.kiro/settings/mcp.json"),
            Some(Claim::Dedicated)
        );
        assert_eq!(claim_of("repo/other/settings/mcp.json"), Some(Claim::Maybe));
        assert_eq!(claim_of("repo/mcp.json"), Some(Claim::Maybe));
        assert_eq!(
            claim_of("repo/.vscode/settings.json"),
            Some(Claim::ClientFile)
        );
        assert_eq!(
            claim_of("repo/.gemini/settings.json"),
            Some(Claim::ClientFile)
        );
        assert_eq!(claim_of("repo/.codex/config.toml"), Some(Claim::ClientFile));
        assert_eq!(
            claim_of("repo/.continue/mcpServers/db.yaml"),
            Some(Claim::ClientFile)
        );
        assert_eq!(claim_of("repo/.cargo/config.toml"), Some(Claim::Maybe));
        assert_eq!(
            claim_of("repo/servers/github/server.yaml"),
            Some(Claim::Maybe)
        );
        assert_eq!(claim_of("repo/package.json"), None);
        assert_eq!(claim_of("repo/src/main.rs"), None);
    }

    #[test]
    fn the_walk_finds_configs_and_skips_dependencies() {
        let root = std::env::temp_dir().join(format!("mcp-audit-discovery-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for dir in [".vscode", "node_modules/pkg", "a/b", ".git"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in [
            ".vscode/mcp.json",
            "node_modules/pkg/.mcp.json",
            "a/b/.mcp.json",
            ".git/mcp.json",
            "README.md",
        ] {
            std::fs::write(root.join(file), "{}").unwrap();
        }
        let found: Vec<String> = discover(&root)
            .unwrap()
            .into_iter()
            .map(|c| c.path.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found, vec![".vscode/mcp.json", "a/b/.mcp.json"]);
    }
}
