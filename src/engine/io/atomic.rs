//! Whole-or-nothing file writes: a temp file beside the target, renamed over it on success.
//!
//! Every file the engine writes goes through here, so the rules live in one place:
//! - an existing target that is not a regular file (a device, FIFO, socket or directory) is
//!   refused, never replaced by a rename; so is a read-only file;
//! - new files get the mode the user's umask gives (0666 & !umask), a replaced file keeps its
//!   own mode;
//! - the temp file is locked while it is written, so a later writer can tell a temp file left by
//!   a killed process (unlocked: removed) from one another process is writing (locked: kept).

use std::fs::{File, TryLockError};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::engine::{Error, Result};

/// Temp files and work directories alive in this process, removed by `remove_live` when it is
/// interrupted (Ctrl-C, SIGTERM, a closed terminal) or exits with a worker still writing.
static LIVE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A thread that panicked while holding it left the list whole (push and swap_remove
    // cannot fail half way).
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Make a temp file or directory and track it in one step, under `LIVE`'s lock: an interrupt
/// that arrives meanwhile waits, then finds it. (Tracked after it exists, a Ctrl-C in between
/// left it behind: CI caught one.)
fn create_tracked<T>(
    make: impl FnOnce() -> std::io::Result<T>,
    path: impl Fn(&T) -> &Path,
) -> std::io::Result<(T, Tracked)> {
    let mut l = live();
    let made = make()?;
    let p = path(&made).to_path_buf();
    l.push(p.clone());
    Ok((made, Tracked(p)))
}

fn untrack(path: &Path) {
    let mut l = live();
    if let Some(i) = l.iter().rposition(|p| p == path) {
        l.swap_remove(i);
    }
}

/// Remove every temp file and work directory this process still has (best effort). Called on
/// an interrupting signal and at exit, right before the process ends; what it removes is never
/// read again.
pub fn remove_live() {
    let mut guard = live();
    let live = std::mem::take(&mut *guard);
    // Never released: a worker that would make a new temp file now waits until the process
    // ends, instead of leaving one behind after this sweep.
    std::mem::forget(guard);
    for p in live {
        if p.is_dir() {
            // Other threads may still be adding files while the directory is emptied (a spill
            // flushing a bucket), so `remove_dir_all` can find it not empty at the end: try
            // again until it is gone. Once it is, nothing can be created in it.
            for _ in 0..200 {
                if std::fs::remove_dir_all(&p).is_ok() || !p.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP: remove what `remove_live` removes, then exit with 128 + the
/// signal, as the default action would have. (A killed process, kill -9, cannot do this: the
/// next run cleans its leftovers, see `clean_stale_dirs`.)
pub fn remove_live_on_signal() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                remove_live();
                std::process::exit(128 + sig);
            }
        });
    }
}

/// Temp files of `write_atomic` are named `.churn-tui-XXXXXX.tmp`.
pub const TMP_PREFIX: &str = ".churn-tui-";
pub const TMP_SUFFIX: &str = ".tmp";

fn refuse(path: &Path, why: &str) -> Error {
    Error::Config(format!("{}: {why}", path.display()))
}

/// Where a write to `path` lands: the file a symlink points to, else `path` itself. Refuses an
/// existing target that is not a regular file, or is read-only.
pub fn resolve_target(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::Config("an output path is empty".into()));
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(t) => t,
            // A dangling link: write a new file where it points? Too surprising; say so.
            Err(_) => return Err(refuse(path, "is a symbolic link to nothing")),
        },
        Ok(_) => path.to_path_buf(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let meta = std::fs::metadata(&target).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(refuse(path, "is a directory: give a file name"));
    }
    if !meta.is_file() {
        return Err(refuse(
            path,
            "is not a regular file (a device, FIFO or socket): refusing to replace it",
        ));
    }
    if meta.permissions().readonly() {
        return Err(refuse(path, "is read-only: refusing to replace it"));
    }
    Ok(target)
}

pub fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Is the file at `path` unlocked, so that no live process holds it? (A killed process's
/// locks are gone with it.)
pub fn is_stale(path: &Path) -> bool {
    match File::open(path) {
        Ok(f) => match f.try_lock() {
            Ok(()) => true,
            Err(TryLockError::WouldBlock) => false,
            // A file system without locks: never guess that another process is dead.
            Err(TryLockError::Error(_)) => false,
        },
        Err(_) => false,
    }
}

/// An unlocked temp file this much older than now is a leftover. (A writer locks its temp file
/// right after creating it; the age covers that moment.)
const TEMP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

fn older_than(meta: &std::fs::Metadata, age: std::time::Duration) -> bool {
    meta.modified()
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|a| a >= age)
}

/// Remove temp files that killed writers left in `dir` (best effort: what cannot be read or
/// removed is left alone).
pub fn clean_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX)) {
            continue;
        }
        let p = e.path();
        // The writer's pid is in the name: once it is dead, no grace is needed (a run started
        // right after a kill -9 cleans up too). Else the age covers the moment before the lock.
        let dead = writer_pid(&name).is_some_and(|pid| !pid_alive(pid));
        let old = e
            .metadata()
            .is_ok_and(|m| m.is_file() && (dead || older_than(&m, TEMP_GRACE)));
        if old && is_stale(&p) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// The temp-name prefix of this process: `.churn-tui-p<pid>-`.
fn own_prefix() -> String {
    format!("{TMP_PREFIX}p{}-", std::process::id())
}

/// The pid in a temp file's name `.churn-tui-p<pid>-XXXXXX.tmp`, if it has one.
fn writer_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TMP_PREFIX)?.strip_prefix('p')?;
    let (digits, _) = rest.split_once('-')?;
    digits.parse().ok()
}

/// Is a process with this pid alive? (A reused pid only keeps a leftover until it ages.)
fn pid_alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Ok(pid) = i32::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        true
    }
}

/// The mode a new file gets here: the umask's (tempfile applies it to 0666).
#[cfg(unix)]
fn new_file_mode(target: &Path) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    // A replaced file keeps its mode; a new one gets what the umask allows.
    match std::fs::metadata(target) {
        Ok(m) => std::fs::Permissions::from_mode(m.permissions().mode() & 0o7777),
        Err(_) => std::fs::Permissions::from_mode(0o666),
    }
}

/// Write `df` as a Parquet file at `path`, whole or not at all.
pub fn write_parquet(df: &mut polars::prelude::DataFrame, path: &Path) -> Result<()> {
    write_atomic(path, |w| {
        let schema = df.schema().clone();
        crate::engine::io::parquet_out::writer(w, &schema)
            .finish(df)
            .map(|_| ())
            .map_err(std::io::Error::other)
    })
}

/// Write `path` through `fill`; on any error the target is untouched and the temp file removed.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
) -> Result<()> {
    let target = resolve_target(path)?;
    let dir = dir_of(&target);
    clean_stale_temps(&dir);
    let mut builder = tempfile::Builder::new();
    let prefix = own_prefix();
    builder.prefix(&prefix).suffix(TMP_SUFFIX);
    #[cfg(unix)]
    let mode = new_file_mode(&target);
    #[cfg(unix)]
    builder.permissions(mode.clone());
    let (mut tmp, tracked) = create_tracked(|| builder.tempfile_in(&dir), |t| t.path())
        .map_err(|e| Error::io(path, e))?;
    // Held until the rename: marks the temp file as live for `clean_stale_temps`.
    let _ = tmp.as_file().try_lock();
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        fill(&mut w).map_err(|e| Error::io(path, e))?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    // A replaced file's mode may be wider than the umask allows at creation: set it exactly.
    #[cfg(unix)]
    if target.exists() {
        let _ = tmp.as_file().set_permissions(mode);
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    // Between the checks above and here another process could put a FIFO at `target`; rename
    // would replace it. Re-check right before, which narrows that to a race with an attacker
    // who already owns the directory.
    resolve_target(&target)?;
    tmp.persist(&target).map_err(|e| Error::io(path, e.error))?;
    drop(tracked);
    Ok(())
}

/// A path in `LIVE` while this lives.
struct Tracked(PathBuf);

impl Drop for Tracked {
    fn drop(&mut self) {
        untrack(&self.0);
    }
}

/// Held locked inside a work directory while its owner lives (see `is_stale`).
pub const WRITING_LOCK: &str = ".writing";

/// A hidden temp directory (`<root>/<prefix>XXXXXX.tmp/`) that its owner holds locked: removed
/// when dropped, and by `clean_stale_dirs` once its owner was killed.
pub struct WorkDir {
    dir: tempfile::TempDir,
    lock: File,
    _tracked: Tracked,
}

impl WorkDir {
    pub fn new(root: &Path, prefix: &str) -> Result<WorkDir> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        clean_stale_dirs(root, prefix);
        let mut builder = tempfile::Builder::new();
        builder.prefix(prefix).suffix(TMP_SUFFIX);
        // The umask decides who may read it, as for any directory the user makes.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o777));
        }
        // Tracked as it is made: a Ctrl-C between here and the lock must still remove it.
        let (dir, _tracked) = create_tracked(|| builder.tempdir_in(root), |d| d.path())
            .map_err(|e| Error::io(root, e))?;
        // Locked before it gets its name, so a cleaner never sees `.writing` unlocked while
        // its owner lives.
        let new = dir.path().join(format!("{WRITING_LOCK}.new"));
        let lock_path = dir.path().join(WRITING_LOCK);
        let lock = File::create(&new).map_err(|e| Error::io(&new, e))?;
        let _ = lock.try_lock();
        std::fs::rename(&new, &lock_path).map_err(|e| Error::io(&lock_path, e))?;
        Ok(WorkDir {
            dir,
            lock,
            _tracked,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Stop removing the directory on drop (it was renamed into place); the lock is released.
    pub fn disarm(self) {
        let WorkDir {
            dir,
            lock,
            _tracked,
        } = self;
        drop(_tracked);
        let _ = dir.keep();
        drop(lock);
    }
}

/// Remove the work directories under `root` named with `prefix` whose lock no live process
/// holds (their owner was killed), and `write_atomic`'s leftover temp files. A directory
/// without its lock yet is given a minute to get one.
pub fn clean_stale_dirs(root: &Path, prefix: &str) {
    clean_stale_temps(root);
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(prefix)
            || !e.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        let dir = e.path();
        let lock = dir.join(WRITING_LOCK);
        let stale = if lock.exists() {
            is_stale(&lock)
        } else {
            e.metadata()
                .is_ok_and(|m| older_than(&m, std::time::Duration::from_secs(60)))
        };
        if stale {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_temp_file_is_kept_and_a_dead_ones_removed() {
        let d = tempfile::tempdir().unwrap();
        let live = d.path().join(format!("{TMP_PREFIX}live{TMP_SUFFIX}"));
        let dead = d.path().join(format!("{TMP_PREFIX}dead{TMP_SUFFIX}"));
        let other = d.path().join("keep.tmp");
        let held = File::create(&live).unwrap();
        held.lock().unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
        held.set_modified(past).unwrap();
        File::create(&dead).unwrap().set_modified(past).unwrap();
        File::create(&other).unwrap().set_modified(past).unwrap();
        let young = d.path().join(format!("{TMP_PREFIX}young{TMP_SUFFIX}"));
        File::create(&young).unwrap();
        clean_stale_temps(d.path());
        assert!(live.exists(), "a locked temp file belongs to a live writer");
        assert!(!dead.exists(), "an unlocked temp file is a leftover");
        assert!(other.exists(), "only our own temp names are touched");
        assert!(
            young.exists(),
            "a temp file just made may not be locked yet"
        );
        // A young one whose writer (named in it) is dead goes at once; our own young one stays.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let orphan = d
            .path()
            .join(format!("{TMP_PREFIX}p{dead_pid}-abcdef{TMP_SUFFIX}"));
        File::create(&orphan).unwrap();
        let mine = d.path().join(format!("{}abcdef{TMP_SUFFIX}", own_prefix()));
        File::create(&mine).unwrap();
        clean_stale_temps(d.path());
        assert!(!orphan.exists(), "its writer is dead");
        assert!(mine.exists(), "its writer lives");
    }
}
