//! The shipped sample log (`sample_data/`), built into the binary, so the default `--data` works
//! wherever the binary runs: the source tree's copy when it is there (`cargo run`), else the
//! built-in copy unpacked once into the user's cache directory.

use std::path::{Path, PathBuf};

use crate::engine::{Error, Result};

macro_rules! sample {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/sample_data/", $name)) as &[u8])),*]
    };
}

/// The sample's files and their bytes.
pub const FILES: [(&str, &[u8]); 7] = sample!(
    "2019-Oct.csv.gz",
    "2019-Nov.csv.gz",
    "2019-Dec.csv.gz",
    "2020-Jan.csv.gz",
    "2020-Feb.csv.gz",
    "2020-Mar.csv.gz",
    "2020-Apr.csv.gz",
);

/// Does `dir` hold the sample, byte for byte, in regular files of its own? (A symbolic link
/// in the cache is never trusted, even to the right bytes: the next unpack would follow it.)
fn holds_sample(dir: &Path) -> bool {
    FILES.iter().all(|(name, bytes)| {
        let p = dir.join(name);
        std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_file())
            && std::fs::read(&p).is_ok_and(|b| b == *bytes)
    })
}

fn cache_root() -> PathBuf {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = nonempty("XDG_CACHE_HOME") {
        return PathBuf::from(d);
    }
    if let Some(h) = nonempty("HOME") {
        return PathBuf::from(h).join(".cache");
    }
    std::env::temp_dir()
}

/// The directory holding the sample: the source tree's, else the unpacked built-in copy.
pub fn sample_dir() -> Result<PathBuf> {
    sample_dir_in(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data"),
        &cache_root(),
    )
}

fn unpack_error(dir: &Path, why: impl std::fmt::Display) -> Error {
    Error::Config(format!(
        "cannot unpack the built-in sample log into {}: {why} (pass --data FILES, or set \
         XDG_CACHE_HOME to a writable directory of your own)",
        dir.display()
    ))
}

/// Is `dir` a real directory (no link) that only we can write to? The cache may lie in the
/// shared temp directory (no HOME), where another user could have made it, or planted links.
fn private_dir(dir: &Path) -> std::result::Result<(), String> {
    let m = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if !m.file_type().is_dir() {
        return Err("it is not a directory (a symbolic link or a file is not trusted)".into());
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: getuid has no preconditions and cannot fail.
        let me = unsafe { libc::getuid() };
        if m.uid() != me {
            return Err(format!("it belongs to another user (uid {})", m.uid()));
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if m.mode() & 0o022 != 0 {
            return Err("others may write to it".into());
        }
    }
    Ok(())
}

/// Make `dir` (mode 0700 when new) or check the one there; either way it must be private.
fn make_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    match b.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(unpack_error(dir, e)),
    }
    // One of ours that others may write to (an earlier version made it under a loose umask)
    // is closed first: it is checked to be a real directory, then made 0700.
    #[cfg(unix)]
    if let Err(why) = private_dir(dir) {
        if why != "others may write to it" {
            return Err(unpack_error(dir, why));
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| unpack_error(dir, e))?;
    }
    private_dir(dir).map_err(|why| unpack_error(dir, why))
}

/// `source` when it holds the sample, else the built-in copy unpacked under `cache`.
///
/// The unpack follows no link an attacker may have planted: `churn-tui/` must be a private
/// directory of ours; the files are written, each created new, into a fresh directory made
/// there, which is then renamed to `sample-<version>/` (a damaged or foreign copy there is
/// removed first: a link is removed, never followed).
fn sample_dir_in(source: &Path, cache: &Path) -> Result<PathBuf> {
    if holds_sample(source) {
        return Ok(source.to_path_buf());
    }
    let root = cache.join("churn-tui");
    let dir = root.join(format!("sample-{}", env!("CARGO_PKG_VERSION")));
    if private_dir(&root).is_ok() && private_dir(&dir).is_ok() && holds_sample(&dir) {
        return Ok(dir);
    }
    std::fs::create_dir_all(cache).map_err(|e| unpack_error(cache, e))?;
    make_private_dir(&root)?;
    let fresh = tempfile::Builder::new()
        .prefix(".sample-")
        .tempdir_in(&root)
        .map_err(|e| unpack_error(&root, e))?;
    for (name, bytes) in FILES {
        let p = fresh.path().join(name);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .and_then(|mut f| {
                std::io::Write::write_all(&mut f, bytes)?;
                f.sync_all()
            });
        written.map_err(|e| unpack_error(&dir, format!("{}: {e}", p.display())))?;
    }
    // What stands at the name (a damaged copy, a link, a file) goes; `remove_dir_all` removes a
    // link inside, never what it points to.
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.file_type().is_dir() => {
            std::fs::remove_dir_all(&dir).map_err(|e| unpack_error(&dir, e))?
        }
        Ok(_) => std::fs::remove_file(&dir).map_err(|e| unpack_error(&dir, e))?,
        Err(_) => {}
    }
    let fresh = fresh.keep();
    if let Err(e) = std::fs::rename(&fresh, &dir) {
        let _ = std::fs::remove_dir_all(&fresh);
        // Another process unpacked it meanwhile: its copy is as good as ours.
        if private_dir(&dir).is_ok() && holds_sample(&dir) {
            return Ok(dir);
        }
        return Err(unpack_error(&dir, e));
    }
    Ok(dir)
}

/// The glob of the sample's files, as `--data` takes it.
pub fn sample_glob() -> Result<String> {
    let dir = sample_dir()?;
    Ok(format!(
        "{}/*.csv.gz",
        glob::Pattern::escape(&dir.to_string_lossy())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_copy_unpacks_where_the_source_tree_is_absent() {
        let cache = tempfile::tempdir().unwrap();
        let gone = cache.path().join("no-source-tree");
        let dir = sample_dir_in(&gone, cache.path()).unwrap();
        assert!(dir.starts_with(cache.path()), "{}", dir.display());
        for (name, bytes) in FILES {
            assert_eq!(std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
        }
        // A damaged copy is not the sample: it is written again.
        std::fs::write(dir.join(FILES[3].0), b"damaged").unwrap();
        assert!(!holds_sample(&dir));
        assert_eq!(sample_dir_in(&gone, cache.path()).unwrap(), dir);
        assert!(holds_sample(&dir));
    }

    /// Issue 29, item 17: links planted in the cache are never followed by the unpack.
    #[cfg(unix)]
    #[test]
    fn planted_links_in_the_cache_are_not_followed() {
        use std::os::unix::fs::symlink;
        let cache = tempfile::tempdir().unwrap();
        let gone = cache.path().join("no-source-tree");
        let victim_dir = tempfile::tempdir().unwrap();
        let victim = victim_dir.path().join("precious.txt");
        std::fs::write(&victim, b"keep me").unwrap();
        let root = cache.path().join("churn-tui");
        let dir = root.join(format!("sample-{}", env!("CARGO_PKG_VERSION")));
        std::fs::create_dir_all(&dir).unwrap();
        // A link in place of one of the sample's files.
        symlink(&victim, dir.join(FILES[0].0)).unwrap();
        let got = sample_dir_in(&gone, cache.path()).unwrap();
        assert_eq!(got, dir);
        assert!(holds_sample(&dir));
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        // The sample directory itself a link to another directory.
        std::fs::remove_dir_all(&dir).unwrap();
        symlink(victim_dir.path(), &dir).unwrap();
        let got = sample_dir_in(&gone, cache.path()).unwrap();
        assert!(
            !std::fs::symlink_metadata(&got)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(holds_sample(&got));
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        let left: Vec<_> = std::fs::read_dir(victim_dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "nothing was unpacked into the link's target");
        // `churn-tui/` itself a link: refused, nothing written where it points.
        let cache2 = tempfile::tempdir().unwrap();
        symlink(victim_dir.path(), cache2.path().join("churn-tui")).unwrap();
        let e = sample_dir_in(&gone, cache2.path()).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
        assert_eq!(std::fs::read_dir(victim_dir.path()).unwrap().count(), 1);
        // Ours but writable by others: closed to them before anything is unpacked.
        use std::os::unix::fs::PermissionsExt;
        let cache3 = tempfile::tempdir().unwrap();
        let root3 = cache3.path().join("churn-tui");
        std::fs::create_dir(&root3).unwrap();
        std::fs::set_permissions(&root3, std::fs::Permissions::from_mode(0o777)).unwrap();
        let got = sample_dir_in(&gone, cache3.path()).unwrap();
        assert!(holds_sample(&got));
        let mode = std::fs::metadata(&root3).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
