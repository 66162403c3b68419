//! The generated secret's file (`GATEHOUSE_SECRET_FILE`): mode 0600 from its
//! first byte, refused when group or others may open it.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::config::Secret;
use crate::session::PlainToken;

const VAR: &str = "GATEHOUSE_SECRET_FILE";
const MIN_LEN: usize = 32;

/// The secret kept in `path`, or `None` when there is no such file.
pub fn read(path: &Path) -> Result<Option<Secret>, String> {
    let shown = path.display();
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{VAR}: cannot read {shown}: {e}")),
    };
    // The handle's own metadata: what is checked is what is read.
    let meta = file
        .metadata()
        .map_err(|e| format!("{VAR}: cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{VAR}: {shown} is not a file"));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{VAR}: {shown} is open to group or others (mode {mode:04o}); make it the owner's only: chmod 600 {shown}"
        ));
    }
    let mut raw = Vec::new();
    file.read_to_end(&mut raw)
        .map_err(|e| format!("{VAR}: cannot read {shown}: {e}"))?;
    // An editor's final newline is not part of the secret.
    while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        raw.pop();
    }
    if raw.len() < MIN_LEN {
        return Err(format!(
            "{VAR}: {shown} holds {} bytes; a secret needs at least {MIN_LEN}",
            raw.len()
        ));
    }
    Ok(Some(Secret::new(raw)))
}

/// Keeps `value` in a new file at `path` and answers the secret the file then
/// holds: `value`, or the one another instance starting at the same time put
/// there first. The file is written whole under a temporary name (created with
/// mode 0600, never readable by others even briefly), synced, then linked to
/// `path`: a link never replaces a file, and `path` never names a half-written
/// one.
pub fn create(path: &Path, value: &str) -> Result<Secret, String> {
    let shown = path.display();
    let cannot = |e: std::io::Error| format!("{VAR}: cannot create {shown}: {e}");
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| format!("{VAR}: {shown} is not a file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        &PlainToken::generate().expose()[..12]
    ));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(value.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        });
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            // The new name survives a crash only once its directory is synced.
            File::open(dir).and_then(|d| d.sync_all()).map_err(cannot)?;
            Ok(Secret::new(value.as_bytes().to_vec()))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            read(path)?.ok_or_else(|| format!("{VAR}: {shown} vanished while starting"))
        }
        Err(e) => Err(cannot(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_owner_only_read_back_and_refused_when_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatehouse.secret");
        assert!(read(&path).unwrap().is_none());
        let value = PlainToken::generate().expose();
        let made = create(&path, &value).unwrap();
        assert_eq!(made.expose(), value.as_bytes());
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read(&path).unwrap().unwrap(), made);
        // A second creation keeps the first secret.
        let other = create(&path, &PlainToken::generate().expose()).unwrap();
        assert_eq!(other, made);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp left");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.starts_with("GATEHOUSE_SECRET_FILE: "), "{err}");
        assert!(err.contains("0640") && !err.contains('\n'), "{err}");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, "short\n").unwrap();
        assert!(read(&path).unwrap_err().contains("at least 32"));
    }
}
