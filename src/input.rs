//! Reading a file that input named (a config, a saved capture, a lockfile): only a regular file,
//! and never more than a cap, so a device, a FIFO or a file that grows while read cannot hang the
//! run or exhaust its memory. What the bytes mean is the caller's business.

use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// The whole of the regular file at `path`, refused when it holds more than `max` bytes.
pub fn read_capped(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        // Opening a FIFO blocks until a writer comes, and a device may never end: refuse both
        // before opening.
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let too_large = || {
        Error::new(
            ErrorKind::FileTooLarge,
            format!("more than the {max} bytes read"),
        )
    };
    if metadata.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(read_capped(&path, 2).unwrap(), b"{}");
        assert_eq!(
            read_capped(&path, 1).unwrap_err().kind(),
            ErrorKind::FileTooLarge
        );
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_device_and_a_directory_without_reading() {
        let error = read_capped(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_capped(dir.path(), 1024).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
