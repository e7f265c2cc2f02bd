//! The shipped sample log (`sample_data/`), built into the binary, so the default `--data` works
//! wherever the binary runs: the source tree's copy when it is there (`cargo run`), else the
//! built-in copy unpacked once into the user's cache directory.

use std::path::{Path, PathBuf};

use crate::engine::atomic::write_atomic;
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

/// Does `dir` hold the sample, byte for byte?
fn holds_sample(dir: &Path) -> bool {
    FILES
        .iter()
        .all(|(name, bytes)| std::fs::read(dir.join(name)).is_ok_and(|b| b == *bytes))
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

/// `source` when it holds the sample, else the built-in copy unpacked under `cache`.
fn sample_dir_in(source: &Path, cache: &Path) -> Result<PathBuf> {
    if holds_sample(source) {
        return Ok(source.to_path_buf());
    }
    let dir = cache
        .join("churn-tui")
        .join(format!("sample-{}", env!("CARGO_PKG_VERSION")));
    if !holds_sample(&dir) {
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::Config(format!(
                "cannot unpack the built-in sample log into {}: {e} (pass --data FILES, or set \
                 XDG_CACHE_HOME to a writable directory)",
                dir.display()
            ))
        })?;
        for (name, bytes) in FILES {
            write_atomic(&dir.join(name), |w| std::io::Write::write_all(w, bytes))?;
        }
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
}
