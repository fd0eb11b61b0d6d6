//! The one way mcp-audit writes a file (a report, a policy, a capture, the lockfile): a new
//! temporary file created exclusively beside the destination, flushed, then renamed over it.
//! It never opens the destination itself, so a symlink there is replaced, never followed, and
//! it refuses to replace a file the same run reads.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("refusing to write {path}: it is {input}, which this run reads")]
    Input { path: String, input: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Suffix of the temporary files `replace_file` writes, named `.NAME.RANDOM.tmp`.
pub const TEMPORARY_SUFFIX: &str = ".tmp";

/// Replace `path` with `bytes`, whole or not at all, unless it is one of `inputs`. A file
/// that was there keeps its permissions; a new one gets the usual 0644.
pub fn replace_file(path: &Path, bytes: &[u8], inputs: &[PathBuf]) -> Result<(), OutputError> {
    if let Some(input) = inputs.iter().find(|input| is_same_file(path, input)) {
        return Err(OutputError::Input {
            path: path.display().to_string(),
            input: input.display().to_string(),
        });
    }
    let io_error = |source| OutputError::Io {
        path: path.display().to_string(),
        source,
    };
    let directory = parent_dir(path);
    let name = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy();
    let mut temporary = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(TEMPORARY_SUFFIX)
        .tempfile_in(directory)
        .map_err(io_error)?;
    temporary.write_all(bytes).map_err(io_error)?;
    // The temporary file is private (0600); the destination keeps the mode of the regular
    // file it replaces, never of what a symlink there points at.
    let permissions = std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions())
        .or_else(default_permissions);
    if let Some(permissions) = permissions {
        temporary
            .as_file()
            .set_permissions(permissions)
            .map_err(io_error)?;
    }
    temporary.as_file().sync_all().map_err(io_error)?;
    temporary.persist(path).map_err(|e| io_error(e.error))?;
    sync_directory(directory).map_err(io_error)
}

/// Whether writing `destination` would change `input`: the same path, or the same file
/// (device and inode) through a link.
fn is_same_file(destination: &Path, input: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    if canonical(destination).is_some() && canonical(destination) == canonical(input) {
        return true;
    }
    same_identity(destination, input)
}

#[cfg(unix)]
fn same_identity(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_identity(_: &Path, _: &Path) -> bool {
    false
}

/// The rename is only durable once the directory is.
#[cfg(unix)]
fn sync_directory(directory: &Path) -> std::io::Result<()> {
    std::fs::File::open(directory)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

/// The directory a file is written in: its parent, or `.` for a bare name.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mcp-audit-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_a_symlink_at_the_destination_instead_of_following_it() {
        let dir = temp_dir("symlink");
        let target = dir.join("target");
        let link = dir.join("report.sarif");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        replace_file(&link, b"report\n", &[]).unwrap();
        assert!(!target.exists(), "the symlink's target was written");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "report\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_an_input_by_another_path_and_keeps_a_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("input");
        let config = dir.join("config.json");
        std::fs::write(&config, "{}").unwrap();
        std::fs::hard_link(&config, dir.join("other.json")).unwrap();
        let error =
            replace_file(&dir.join("other.json"), b"x", std::slice::from_ref(&config)).unwrap_err();
        assert!(
            error.to_string().contains("which this run reads"),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&config).unwrap(), "{}");

        let kept = dir.join("kept");
        std::fs::write(&kept, "old").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o600)).unwrap();
        replace_file(&kept, b"new", &[config]).unwrap();
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
