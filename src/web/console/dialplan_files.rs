//! The dialplan folder's files for the console and `/api/v1/dialplans`:
//! which names may be touched (plain `name.toml`), reading them as the
//! loader does, what a change (an edit, a removal) does to the plan (the
//! same loader and validator the hot reload uses; errors split at
//! `file:line:col`), and the save and removal both callers make (one
//! writer at a time, size limit, edits made meanwhile detected, atomic
//! writes). No HTTP, no pages (those are `dialplans` and
//! `web::admin_plans`); never a path outside the folder.

use std::path::Path;

/// Largest file saved.
pub const MAX_TEXT: usize = 512 * 1024;

/// Serialises writes to the folder (two admins saving at once).
pub(in crate::web) static WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A file name the console may touch: `name.toml`, the name of letters,
/// digits, `-` and `_`, no path.
pub fn valid_file_name(name: &str) -> bool {
    name.strip_suffix(".toml").is_some_and(|stem| {
        (1..=64).contains(&stem.len()) && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// One loader error, split at its position (`line` 0: none given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl PlanError {
    /// Splits the loader's `file:line:col: message`.
    pub fn parse(s: &str) -> PlanError {
        let parsed = (|| {
            let (file, rest) = s.split_once(':')?;
            let (line, rest) = rest.split_once(':')?;
            let (col, msg) = rest.split_once(':')?;
            Some(PlanError { file: file.to_string(), line: line.parse().ok()?, col: col.parse().ok()?, message: msg.trim().to_string() })
        })();
        parsed.unwrap_or_else(|| {
            let (file, msg) = s.split_once(": ").unwrap_or(("", s));
            PlanError { file: file.to_string(), line: 0, col: 0, message: msg.to_string() }
        })
    }
}


/// Every `*.toml` file of `dir` as the loader reads them: (file name, text), sorted.
pub(in crate::web) fn read_all(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "toml") && p.is_file() {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, std::fs::read_to_string(&p)?));
        }
    }
    out.sort();
    Ok(out)
}

/// [`read_all`] off the async workers; a folder not made yet is empty.
pub(in crate::web) async fn read_folder(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let d = dir.to_path_buf();
    match tokio::task::spawn_blocking(move || read_all(&d)).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound && !dir.exists() => Ok(Vec::new()),
        Ok(Err(e)) => Err(format!("cannot read the dialplan folder {}: {e}", dir.display())),
        Err(e) => Err(e.to_string()),
    }
}

/// Loader errors of a set of files (empty: the plan loads).
pub(in crate::web) fn errors_of(files: &[(String, String)]) -> Vec<String> {
    crate::dialplan::load_files(files).err().unwrap_or_default()
}

/// What replacing (`Some`) or removing (`None`) file `name` does to the
/// plan: the errors that block it (in that file, or new elsewhere) and
/// the ones other files had already.
pub(in crate::web) fn check_change(files: &[(String, String)], name: &str, text: Option<&str>) -> (Vec<PlanError>, Vec<PlanError>) {
    let before = errors_of(files);
    let mut after: Vec<(String, String)> = files.iter().filter(|(n, _)| n != name).cloned().collect();
    if let Some(t) = text {
        after.push((name.to_string(), t.to_string()));
        after.sort();
    }
    let (blocking, old): (Vec<String>, Vec<String>) = errors_of(&after).into_iter().partition(|e| PlanError::parse(e).file == name || !before.contains(e));
    let mut blocking: Vec<PlanError> = blocking.iter().map(|e| PlanError::parse(e)).collect();
    // This file's errors first, in line order.
    blocking.sort_by_key(|e| (e.file != name, e.file.clone(), e.line, e.col));
    (blocking, old.iter().map(|e| PlanError::parse(e)).collect())
}

/// Writes `text` to `dir/name` atomically: a temporary file (not `*.toml`,
/// so the hot reload ignores it) flushed to disk, then renamed over.
pub(in crate::web) fn write_atomic(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let written = (|| {
        let mut f = std::fs::File::create_new(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A short fingerprint of a file's text (detects edits made meanwhile).
pub(in crate::web) fn fingerprint(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a save was refused.
#[derive(Debug)]
pub(in crate::web) enum SaveRefused {
    /// The folder could not be read.
    Folder(String),
    /// Over [`MAX_TEXT`].
    TooLarge,
    /// The file changed on disk since the version the editor started from.
    Stale,
    /// The plan would not load: the errors this change causes, and the
    /// ones other files had already.
    Invalid { blocking: Vec<PlanError>, others: Vec<PlanError> },
    /// Writing failed.
    Write(String),
}

/// What a save attempt saw: the folder as it would be with the new text
/// (for the lines errors name), the fingerprint of the file on disk (""
/// when new), the text as saved (CRLF made LF), and the outcome: the
/// errors other files still have, or the refusal.
pub(in crate::web) struct SaveAttempt {
    pub texts: Vec<(String, String)>,
    pub base: String,
    pub text: String,
    pub result: Result<Vec<PlanError>, SaveRefused>,
}

/// Saves `text` as `dir/name` when the whole plan still loads with it,
/// as the hot reload will load it. `base`: the fingerprint of the version
/// the text was edited from ("" for a new file); `None` skips that check.
/// `name` must be a [`valid_file_name`].
pub(in crate::web) async fn save_file(dir: &Path, name: &str, text: &str, base: Option<&str>) -> SaveAttempt {
    // Browsers send CRLF line ends from a textarea.
    let text = text.replace("\r\n", "\n");
    let _w = WRITES.lock().await;
    let texts = match read_folder(dir).await {
        Ok(t) => t,
        Err(e) => return SaveAttempt { texts: vec![(name.to_string(), text.clone())], base: String::new(), text, result: Err(SaveRefused::Folder(e)) },
    };
    let current = texts.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str());
    let stale = match (current, base) {
        (_, None) => false,
        (Some(t), Some(b)) => fingerprint(t) != b,
        (None, Some(b)) => !b.is_empty(),
    };
    let disk = current.map(fingerprint).unwrap_or_default();
    let mut shown = texts.clone();
    shown.retain(|(n, _)| n != name);
    shown.push((name.to_string(), text.clone()));
    let refused = |shown: Vec<(String, String)>, text: String, why: SaveRefused| SaveAttempt { texts: shown, base: disk.clone(), text, result: Err(why) };
    if text.len() > MAX_TEXT {
        return refused(shown, text, SaveRefused::TooLarge);
    }
    if stale {
        return refused(shown, text, SaveRefused::Stale);
    }
    let (blocking, others) = check_change(&texts, name, Some(&text));
    if !blocking.is_empty() {
        return refused(shown, text, SaveRefused::Invalid { blocking, others });
    }
    let (d, n, t) = (dir.to_path_buf(), name.to_string(), text.clone());
    let written = match tokio::task::spawn_blocking(move || write_atomic(&d, &n, &t)).await {
        Ok(Ok(())) => Ok(others),
        Ok(Err(e)) => Err(SaveRefused::Write(format!("cannot write {name}: {e}"))),
        Err(e) => Err(SaveRefused::Write(e.to_string())),
    };
    SaveAttempt { texts: shown, base: disk, text, result: written }
}

/// Why a file was not removed.
#[derive(Debug)]
pub(in crate::web) enum DeleteRefused {
    /// The folder could not be read.
    Folder(String),
    NotFound,
    /// The other files need it: the first error its removal causes.
    Needed(PlanError),
    Io(String),
}

/// Removes `dir/name` unless the rest of the plan needs it.
pub(in crate::web) async fn delete_file(dir: &Path, name: &str) -> Result<(), DeleteRefused> {
    let _w = WRITES.lock().await;
    let texts = read_folder(dir).await.map_err(DeleteRefused::Folder)?;
    if !texts.iter().any(|(n, _)| n == name) {
        return Err(DeleteRefused::NotFound);
    }
    let (blocking, _) = check_change(&texts, name, None);
    if let Some(e) = blocking.into_iter().next() {
        return Err(DeleteRefused::Needed(e));
    }
    std::fs::remove_file(dir.join(name)).map_err(|e| DeleteRefused::Io(format!("cannot delete {name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_errors_and_blocking() {
        for ok in ["main.toml", "a-b_1.toml"] {
            assert!(valid_file_name(ok), "{ok}");
        }
        for bad in ["../x.toml", "a/b.toml", ".toml", ".x.toml", "x.txt", "x", "x.toml/", "a b.toml", "x..toml", "\\x.toml"] {
            assert!(!valid_file_name(bad), "{bad}");
        }
        assert_eq!(
            PlanError::parse("a.toml:3:7: unknown app \"x\""),
            PlanError { file: "a.toml".into(), line: 3, col: 7, message: "unknown app \"x\"".into() }
        );
        assert_eq!(PlanError::parse("/x: no such file").line, 0);

        let a = ("a.toml".to_string(), "[context.m]\nsteps = [{ app = \"hangup\" }]\n".to_string());
        let b = ("b.toml".to_string(), "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"m\"\n".to_string());
        let files = vec![a.clone(), b.clone()];
        // Removing a.toml strands b.toml's entry: blocked, with b's line.
        let (block, _) = check_change(&files, "a.toml", None);
        assert_eq!((block.len(), block[0].file.as_str(), block[0].line), (1, "b.toml", 3), "{block:?}");
        let (block, _) = check_change(&files, "a.toml", Some("[context.m]\nsteps = [{ app = \"nope\" }]\n"));
        assert_eq!((block[0].file.as_str(), block[0].line), ("a.toml", 2), "{block:?}");
        // An error b.toml already had does not block an edit of a.toml.
        let broken = vec![("a.toml".to_string(), "# empty\n".to_string()), b];
        let (block, old) = check_change(&broken, "a.toml", Some("# still empty\n"));
        assert!(block.is_empty() && old.len() == 1, "{block:?} {old:?}");
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "x.toml", "one").unwrap();
        write_atomic(dir.path(), "x.toml", "two").unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["x.toml"]);
        assert_eq!(std::fs::read_to_string(dir.path().join("x.toml")).unwrap(), "two");
    }
}
