//! The generated secret's file (`GATEHOUSE_SECRET_FILE`): mode 0600 from its
//! first byte, refused when group or others may open it.
//!
//! Its first line is the secret; any further lines are earlier secrets
//! (`gatehouse secret rotate` puts them there), still accepted for what they
//! signed or sealed, as in `GATEHOUSE_SECRET_PREVIOUS`.

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
    Ok(read_all(path)?.map(|(current, _)| current))
}

/// The secret kept in `path` and the earlier ones after it, or `None` when
/// there is no such file.
pub fn read_all(path: &Path) -> Result<Option<(Secret, Vec<Secret>)>, String> {
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
    let mut lines = raw
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    if first.len() < MIN_LEN {
        return Err(format!(
            "{VAR}: {shown} holds {} bytes; a secret needs at least {MIN_LEN}",
            first.len()
        ));
    }
    let mut previous = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        if line.len() < MIN_LEN {
            return Err(format!(
                "{VAR}: line {} of {shown} (an earlier secret) holds {} bytes; a secret needs at least {MIN_LEN}",
                i + 2,
                line.len()
            ));
        }
        previous.push(Secret::new(line.to_vec()));
    }
    Ok(Some((Secret::new(first.to_vec()), previous)))
}

/// Puts `new` first in the existing file at `path`, the secret it held
/// second, and the earlier ones after: written whole under a temporary name
/// (mode 0600), synced, then renamed over `path`. Answers how many earlier
/// secrets the file now holds.
pub fn rotate(path: &Path, new: &str) -> Result<usize, String> {
    let shown = path.display();
    let Some((current, previous)) = read_all(path)? else {
        return Err(format!(
            "{VAR}: {shown} does not exist; the server makes the first secret when it first starts"
        ));
    };
    let mut text = format!("{new}\n");
    for s in std::iter::once(&current).chain(&previous) {
        text.push_str(&String::from_utf8_lossy(s.expose()));
        text.push('\n');
    }
    let cannot = |e: std::io::Error| format!("{VAR}: cannot rewrite {shown}: {e}");
    let (dir, tmp) = temp_beside(path)?;
    let written = write_private(&tmp, text.as_bytes()).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(cannot(e));
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(cannot)?;
    Ok(previous.len() + 1)
}

/// The directory of `path` and a fresh temporary name in it.
fn temp_beside(path: &Path) -> Result<(&Path, std::path::PathBuf), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| format!("{VAR}: {} is not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        &PlainToken::generate().expose()[..12]
    ));
    Ok((dir, tmp))
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
    let (dir, tmp) = temp_beside(path)?;
    let written = write_private(&tmp, format!("{value}\n").as_bytes());
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

/// Writes `bytes` to the new file `tmp`, readable by its owner only from its
/// first moment (mode 0600), and syncs it.
fn write_private(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
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

    #[test]
    fn rotation_puts_the_new_secret_first_and_keeps_the_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatehouse.secret");
        assert!(
            rotate(&path, &"n".repeat(43))
                .unwrap_err()
                .contains("does not exist")
        );
        let first = PlainToken::generate().expose();
        create(&path, &first).unwrap();
        let second = PlainToken::generate().expose();
        assert_eq!(rotate(&path, &second).unwrap(), 1);
        let third = PlainToken::generate().expose();
        assert_eq!(rotate(&path, &third).unwrap(), 2);
        let (current, previous) = read_all(&path).unwrap().unwrap();
        assert_eq!(current.expose(), third.as_bytes());
        let previous: Vec<&[u8]> = previous.iter().map(Secret::expose).collect();
        assert_eq!(previous, vec![second.as_bytes(), first.as_bytes()]);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp left");

        fs::write(&path, format!("{third}\n\nshort\n")).unwrap();
        let err = read_all(&path).unwrap_err();
        assert!(
            err.contains("line 3") && err.contains("at least 32"),
            "{err}"
        );
    }
}
