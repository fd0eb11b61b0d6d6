//! The variable names of a config's `docker run --env-file` files: read only from regular files
//! inside the config's own repository, bounded, names only. A config must not be able to read
//! the host's files into the sandbox or the report; no value is ever kept.

use std::path::{Path, PathBuf};

/// The largest env file read; a real one holds a few dozen lines.
pub const MAX_ENV_FILE: u64 = 64 * 1024;

/// Why an env file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvFileRefused {
    #[error("it does not exist or cannot be resolved")]
    Missing,
    #[error("it resolves outside the config's repository `{}`", .0.display())]
    OutsideRepository(PathBuf),
    #[error("it is not a regular file")]
    NotAFile,
    #[error("it is larger than {} KiB", MAX_ENV_FILE / 1024)]
    TooLarge,
    #[error("it cannot be read: {0}")]
    Unreadable(String),
}

/// The repository a config belongs to: the nearest ancestor of its directory holding `.git`,
/// else the directory itself. Canonical, so a symlink cannot move the boundary.
pub fn repository_of(config: &Path) -> Option<PathBuf> {
    let directory = config.parent().filter(|d| !d.as_os_str().is_empty());
    let directory = directory.unwrap_or(Path::new(".")).canonicalize().ok()?;
    let repository = directory
        .ancestors()
        .find(|a| a.join(".git").exists())
        .unwrap_or(&directory);
    Some(repository.to_path_buf())
}

/// The variable names of env file `file` (as the config gives it, relative to the config's
/// directory), when it resolves to a regular file inside `repository`.
pub fn read_names(
    config: &Path,
    repository: &Path,
    file: &str,
) -> Result<Vec<String>, EnvFileRefused> {
    let directory = config.parent().unwrap_or(Path::new(""));
    let resolved = directory
        .join(file)
        .canonicalize()
        .map_err(|_| EnvFileRefused::Missing)?;
    if !resolved.starts_with(repository) {
        return Err(EnvFileRefused::OutsideRepository(repository.to_path_buf()));
    }
    let bytes = crate::input::read_capped(&resolved, MAX_ENV_FILE).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EnvFileRefused::Missing,
        std::io::ErrorKind::InvalidInput => EnvFileRefused::NotAFile,
        std::io::ErrorKind::FileTooLarge => EnvFileRefused::TooLarge,
        kind => EnvFileRefused::Unreadable(kind.to_string()),
    })?;
    Ok(names(&String::from_utf8_lossy(&bytes)))
}

/// The well-formed variable names of an env file's text, each once; values and any line that
/// is not `NAME` or `NAME=…` are dropped.
pub fn names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim_start) {
        let name = line.split_once('=').map_or(line, |(name, _)| name);
        if is_variable_name(name) && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Repo {
        root: tempfile::TempDir,
    }

    impl Repo {
        fn new() -> Repo {
            let root = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(root.path().join("repo/.git")).unwrap();
            std::fs::create_dir_all(root.path().join("repo/.vscode")).unwrap();
            Repo { root }
        }
        fn path(&self, relative: &str) -> PathBuf {
            self.root.path().join(relative)
        }
        fn read(&self, file: &str) -> Result<Vec<String>, EnvFileRefused> {
            let config = self.path("repo/.vscode/mcp.json");
            let repository = repository_of(&config).unwrap();
            read_names(&config, &repository, file)
        }
    }

    #[test]
    fn names_only_well_formed_and_once() {
        assert_eq!(
            names(
                "# comment\nA=1\n\nB\n  C=x\nA=2\nhttps://u:ghp_x@github.com\nD E=1\n9X=1\n_Y_1=\n"
            ),
            ["A", "B", "C", "_Y_1"]
        );
    }

    #[test]
    fn a_file_in_the_repository_is_read() {
        let repo = Repo::new();
        std::fs::write(repo.path("repo/.env"), "TOKEN=secret\n").unwrap();
        assert_eq!(repo.read("../.env").unwrap(), ["TOKEN"]);
        let absolute = repo.path("repo/.env");
        assert_eq!(repo.read(absolute.to_str().unwrap()).unwrap(), ["TOKEN"]);
    }

    #[test]
    fn the_repository_is_the_directory_without_git() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("mcp.json");
        assert_eq!(
            repository_of(&config).unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }

    #[test]
    fn files_outside_the_repository_are_refused() {
        let repo = Repo::new();
        std::fs::write(repo.path("credentials"), "ghp_secret\n").unwrap();
        let outside = repo.path("credentials");
        for file in ["../../credentials", outside.to_str().unwrap()] {
            assert!(
                matches!(repo.read(file), Err(EnvFileRefused::OutsideRepository(_))),
                "{file}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_repository_is_refused() {
        let repo = Repo::new();
        std::fs::write(repo.path("credentials"), "ghp_secret\n").unwrap();
        std::os::unix::fs::symlink("../credentials", repo.path("repo/.env")).unwrap();
        assert!(matches!(
            repo.read("../.env"),
            Err(EnvFileRefused::OutsideRepository(_))
        ));
        std::os::unix::fs::symlink("/dev/zero", repo.path("repo/zero")).unwrap();
        assert!(matches!(
            repo.read("../zero"),
            Err(EnvFileRefused::OutsideRepository(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let repo = Repo::new();
        let fifo = repo.path("repo/fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert_eq!(repo.read("../fifo"), Err(EnvFileRefused::NotAFile));
    }

    #[test]
    fn a_large_file_is_refused() {
        let repo = Repo::new();
        let big = "A=1\n".repeat(MAX_ENV_FILE as usize);
        std::fs::write(repo.path("repo/big.env"), big).unwrap();
        assert_eq!(repo.read("../big.env"), Err(EnvFileRefused::TooLarge));
        assert_eq!(repo.read("../absent.env"), Err(EnvFileRefused::Missing));
    }
}
