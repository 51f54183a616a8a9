//! Files the server writes for itself — the store, its key, job folders and logs — readable
//! by the account that runs it and nobody else (0600 files, 0700 folders), whatever the umask.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Creates `dir` (and missing parents) as 0700; an existing `dir` is narrowed to 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    b.mode(0o700);
    b.create(dir)?;
    restrict(dir, 0o700)
}

/// Opens `path` for appending, created as 0600.
pub fn private_append(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    o.mode(0o600);
    let f = o.open(path)?;
    restrict(path, 0o600)?;
    Ok(f)
}

/// Writes `bytes` to a new file `path` created as 0600 (an existing one is left alone and
/// `Ok(false)` returned).
pub fn private_new(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    o.mode(0o600);
    match o.open(path) {
        Ok(mut f) => {
            io::Write::write_all(&mut f, bytes)?;
            f.sync_all()?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Narrows the permissions of an existing `path` to `mode` (no-op off Unix; a missing file is
/// not an error).
pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o777 != mode => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}
