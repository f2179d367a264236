//! The certificate's files: the folder (0700), the key (0600) and the
//! chain (0644), each replaced atomically (temporary file with its mode
//! from the start, fsync, rename). The key is written before the chain:
//! a crash between the two leaves a pair that no longer matches, which
//! the next start moves aside and replaces (see `ServerCert::open`).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{TlsError, CERT_FILE, KEY_FILE};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io { path: path.to_path_buf(), source }
}

pub fn ensure_dir(dir: &Path) -> Result<(), TlsError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))
}

/// Both files' text; `None` when neither exists (an empty text for a
/// missing one, which the check then refuses).
pub fn read_pair(cert: &Path, key: &Path) -> Result<Option<(String, String)>, TlsError> {
    if !cert.exists() && !key.exists() {
        return Ok(None);
    }
    let read = |p: &Path| match std::fs::read_to_string(p) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        // Not UTF-8: no PEM either; the check says so.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Ok(String::new()),
        Err(e) => Err(io(p)(e)),
    };
    Ok(Some((read(cert)?, read(key)?)))
}

/// Tightens a key file someone made readable by others.
pub fn restrict_key(key: &Path) -> Result<(), TlsError> {
    let mode = std::fs::metadata(key).map_err(io(key))?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!("{} was readable by others (mode {:o}): set to 0600", key.display(), mode & 0o777);
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600)).map_err(io(key))?;
    }
    Ok(())
}

/// Renames `path` to `path.invalid` (replacing an older one), if it exists.
pub fn move_aside(path: &Path) -> Result<(), TlsError> {
    if !path.exists() {
        return Ok(());
    }
    let mut aside = path.as_os_str().to_owned();
    aside.push(".invalid");
    std::fs::rename(path, PathBuf::from(aside)).map_err(io(path))
}

/// Writes the key (0600) and then the chain (0644) into `dir`.
pub fn write_pair(dir: &Path, cert: &str, key: &str) -> Result<(), TlsError> {
    ensure_dir(dir)?;
    write_atomic(&dir.join(KEY_FILE), key.as_bytes(), 0o600)?;
    write_atomic(&dir.join(CERT_FILE), cert.as_bytes(), 0o644)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // A leftover from a crash may have another mode: start afresh.
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the folder is synced.
        if let Some(parent) = path.parent() {
            std::fs::File::open(parent)?.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_is_written_with_modes_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("tls");
        assert!(read_pair(&tls.join(CERT_FILE), &tls.join(KEY_FILE)).unwrap().is_none());
        write_pair(&tls, "C", "K").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&tls.join(KEY_FILE)), mode(&tls.join(CERT_FILE)), mode(&tls)), (0o600, 0o644, 0o700));
        assert_eq!(read_pair(&tls.join(CERT_FILE), &tls.join(KEY_FILE)).unwrap(), Some(("C".into(), "K".into())));
        std::fs::set_permissions(tls.join(KEY_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict_key(&tls.join(KEY_FILE)).unwrap();
        assert_eq!(mode(&tls.join(KEY_FILE)), 0o600);
        std::fs::remove_file(tls.join(KEY_FILE)).unwrap();
        assert_eq!(read_pair(&tls.join(CERT_FILE), &tls.join(KEY_FILE)).unwrap(), Some(("C".into(), String::new())));
        move_aside(&tls.join(CERT_FILE)).unwrap();
        assert!(tls.join("server.pem.invalid").exists() && !tls.join(CERT_FILE).exists());
        move_aside(&tls.join(KEY_FILE)).unwrap();
    }
}
