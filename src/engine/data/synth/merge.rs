//! The sorted runs of `gen`: each event packed as a small binary record, and the runs merged back
//! into time order (a k-way merge) as events.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::{Error, Result};

use super::catalog::{CATEGORIES, Catalog};

use super::write::Event;

/// A sorted run: per event its time, type, catalog product, code (0 none, 1 the category's
/// code, 2 the re-keyed one), user and session.
pub(super) fn write_run(events: &[Event], catalog: &Catalog, path: &Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for e in events {
        w.write_all(&e.ts.to_le_bytes())?;
        let et = EVENT_TYPES
            .iter()
            .position(|t| *t == e.event_type)
            .unwrap_or(0) as u8;
        w.write_all(&[et])?;
        w.write_all(&e.product.to_le_bytes())?;
        let code = match e.category_code {
            None => 0u8,
            Some(c) if c == CATEGORIES[catalog.products[e.product as usize].category].code => 1,
            Some(_) => 2,
        };
        w.write_all(&[code])?;
        w.write_all(&e.user_id.to_le_bytes())?;
        match e.session {
            None => w.write_all(&[0])?,
            Some(s) => {
                w.write_all(&[1])?;
                w.write_all(&s.to_le_bytes())?;
            }
        }
    }
    w.flush()
}

const EVENT_TYPES: [&str; 4] = ["view", "cart", "remove_from_cart", "purchase"];

/// One run being merged: its reader and its next event.
struct Run {
    r: std::io::BufReader<std::fs::File>,
    path: PathBuf,
}

/// The k-way merge of sorted runs by (time, user).
pub(super) struct Merge<'a> {
    runs: Vec<Run>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(i64, i64, usize)>>,
    heads: Vec<Option<Event>>,
    catalog: &'a Catalog,
    rekey_at: i64,
}

impl<'a> Merge<'a> {
    pub(super) fn open(
        paths: &[PathBuf],
        catalog: &'a Catalog,
        rekey_at: i64,
    ) -> Result<Merge<'a>> {
        let mut m = Merge {
            runs: Vec::new(),
            heap: Default::default(),
            heads: Vec::new(),
            catalog,
            rekey_at,
        };
        for (i, p) in paths.iter().enumerate() {
            let f = std::fs::File::open(p).map_err(|e| Error::io(p, e))?;
            m.runs.push(Run {
                r: std::io::BufReader::with_capacity(1 << 18, f),
                path: p.clone(),
            });
            m.heads.push(None);
            m.advance(i).map_err(|e| Error::io(p, e))?;
        }
        Ok(m)
    }

    /// Read run `i`'s next event into its head and the heap.
    fn advance(&mut self, i: usize) -> std::io::Result<()> {
        let e = read_event(&mut self.runs[i].r, self.catalog, self.rekey_at)?;
        if let Some(e) = &e {
            self.heap.push(std::cmp::Reverse((e.ts, e.user_id, i)));
        }
        self.heads[i] = e;
        Ok(())
    }
}

impl Iterator for Merge<'_> {
    type Item = std::io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        let std::cmp::Reverse((_, _, i)) = self.heap.pop()?;
        let e = self.heads[i].take()?;
        if let Err(err) = self.advance(i) {
            let path = self.runs[i].path.display().to_string();
            return Some(Err(std::io::Error::other(format!("{path}: {err}"))));
        }
        Some(Ok(e))
    }
}

fn read_event(
    r: &mut impl std::io::Read,
    catalog: &Catalog,
    rekey_at: i64,
) -> std::io::Result<Option<Event>> {
    let mut head = [0u8; 8];
    // A clean end of the run is a zero-byte read at a record's start.
    let mut got = 0;
    while got < 8 {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    let ts = i64::from_le_bytes(head);
    let mut rest = [0u8; 1 + 4 + 1 + 8 + 1];
    r.read_exact(&mut rest)?;
    let et = EVENT_TYPES
        .get(rest[0] as usize)
        .copied()
        .ok_or_else(|| std::io::Error::other("a corrupt run file"))?;
    let p = u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
    let prod = catalog
        .products
        .get(p)
        .ok_or_else(|| std::io::Error::other("a corrupt run file"))?;
    let code = match rest[5] {
        0 => None,
        1 => Some(CATEGORIES[prod.category].code),
        _ => Some(CATEGORIES[prod.category].rekeyed_code),
    };
    let mut user = [0u8; 8];
    user.copy_from_slice(&rest[6..14]);
    let session = if rest[14] == 1 {
        let mut s = [0u8; 16];
        r.read_exact(&mut s)?;
        Some(u128::from_le_bytes(s))
    } else {
        None
    };
    Ok(Some(catalog.event(
        p,
        ts,
        et,
        code,
        i64::from_le_bytes(user),
        session,
        rekey_at,
    )))
}
