//! Training rows of a large table: at most `cap` rows of train and of val each, every test row.
//!
//! The rows kept of a split are those with the smallest seeded hash of (user, anchor): a
//! uniform sample without replacement, the same whatever order the rows come in (in memory or
//! unit by unit out of core), so the table can be sampled as it is made and never held whole.
//! Test rows are all kept: the test split is scored once, on everyone.

use polars::prelude::*;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::engine::Result;
use crate::engine::data::schema::USER_ID;
use crate::engine::error::PolarsContext;
use crate::engine::features::columns::{ANCHOR, SPLIT};

/// Rows held per split (train, val) by default: enough for every model to learn and for val's
/// Top-K metrics to be tight (5% of 500,000 is 25,000 users), small enough to fit fast.
pub const DEFAULT_TRAIN_ROWS: usize = 1_000_000;
pub const DEFAULT_VAL_ROWS: usize = 500_000;

const HASH: &str = "__sample_hash";
const SAMPLED: [&str; 2] = ["train", "val"];

/// The seeded hash that orders a row for sampling.
pub fn row_hash(user: i64, anchor_us: i64, seed: u64) -> u64 {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&user.to_le_bytes());
    b[8..].copy_from_slice(&anchor_us.to_le_bytes());
    xxh3_64_with_seed(&b, seed)
}

/// Keeps the `caps` smallest-hash rows of train and val (0: all rows) and every test row of the
/// parts pushed into it.
pub struct Sampler {
    caps: [usize; 2],
    seed: u64,
    parts: Vec<DataFrame>,
    /// Rows of train and val held now.
    held: [usize; 2],
    /// Rows hashing at or above this cannot be among the smallest `cap`.
    below: [u64; 2],
}

impl Sampler {
    pub fn new(train: usize, val: usize, seed: u64) -> Sampler {
        Sampler {
            caps: [train, val],
            seed,
            parts: Vec::new(),
            held: [0, 0],
            below: [u64::MAX, u64::MAX],
        }
    }

    /// Take some of the table's rows (with `user_id`, `anchor` and `split`).
    pub fn push(&mut self, df: DataFrame) -> Result<()> {
        let users = df
            .column(USER_ID)
            .and_then(|c| c.cast(&DataType::Int64))
            .ctx(|| USER_ID.into())?;
        let users = users.i64().ctx(|| USER_ID.into())?;
        let anchors = df
            .column(ANCHOR)
            .and_then(|c| c.cast(&DataType::Int64))
            .ctx(|| ANCHOR.into())?;
        let anchors = anchors.i64().ctx(|| ANCHOR.into())?;
        let splits = df.column(SPLIT).ctx(|| SPLIT.into())?;
        let splits = splits.str().ctx(|| SPLIT.into())?;
        let mut hashes = Vec::with_capacity(df.height());
        let mut keep = Vec::with_capacity(df.height());
        for ((u, a), s) in users.iter().zip(anchors.iter()).zip(splits.iter()) {
            let h = row_hash(u.unwrap_or(0), a.unwrap_or(0), self.seed);
            let k = match SAMPLED.iter().position(|x| Some(*x) == s) {
                Some(i) if self.caps[i] > 0 => {
                    let k = h < self.below[i];
                    self.held[i] += k as usize;
                    k
                }
                _ => true,
            };
            hashes.push(h);
            keep.push(k);
        }
        let mut df = df;
        df.with_column(Column::new(HASH.into(), hashes))
            .ctx(|| "sampling rows".into())?;
        let mask = BooleanChunked::from_slice("".into(), &keep);
        self.parts
            .push(df.filter(&mask).ctx(|| "sampling rows".into())?);
        for i in 0..2 {
            // Pruned now and then, so what is held stays within twice the cap.
            if self.caps[i] > 0 && self.held[i] > 2 * self.caps[i] {
                self.prune(i)?;
            }
        }
        Ok(())
    }

    /// Drop the rows of split `i` that are not among its `cap` smallest hashes.
    fn prune(&mut self, i: usize) -> Result<()> {
        let cap = self.caps[i];
        if cap == 0 || self.held[i] <= cap {
            return Ok(());
        }
        let mut hs: Vec<u64> = Vec::with_capacity(self.held[i]);
        for p in &self.parts {
            let (split, h) = columns(p)?;
            for (s, h) in split.iter().zip(h.iter()) {
                if s == Some(SAMPLED[i])
                    && let Some(h) = h
                {
                    hs.push(h);
                }
            }
        }
        let (_, nth, _) = hs.select_nth_unstable(cap - 1);
        let below = nth.saturating_add(1);
        self.below[i] = below;
        let mut held = 0;
        for p in &mut self.parts {
            let (split, h) = columns(p)?;
            let mask: BooleanChunked = split
                .iter()
                .zip(h.iter())
                .map(|(s, h)| {
                    let drop = s == Some(SAMPLED[i]) && h.is_some_and(|h| h >= below);
                    held += (s == Some(SAMPLED[i]) && !drop) as usize;
                    Some(!drop)
                })
                .collect();
            *p = p.filter(&mask).ctx(|| "sampling rows".into())?;
        }
        self.held[i] = held;
        Ok(())
    }

    /// The rows kept, sorted by anchor, then user (as the table is).
    pub fn finish(mut self) -> Result<DataFrame> {
        self.prune(0)?;
        self.prune(1)?;
        let mut parts = self.parts.into_iter();
        let Some(mut df) = parts.next() else {
            return Ok(DataFrame::empty());
        };
        for p in parts {
            df.vstack_mut(&p).ctx(|| "sampling rows".into())?;
        }
        df.drop_in_place(HASH).ctx(|| "sampling rows".into())?;
        df.rechunk_mut();
        df.sort(
            [ANCHOR, USER_ID],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .ctx(|| "sampling rows".into())
    }
}

fn columns(p: &DataFrame) -> Result<(&StringChunked, &UInt64Chunked)> {
    let split = p.column(SPLIT).and_then(|c| c.str()).ctx(|| SPLIT.into())?;
    let h = p.column(HASH).and_then(|c| c.u64()).ctx(|| HASH.into())?;
    Ok((split, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[(i64, i64, &str)]) -> DataFrame {
        df!(
            USER_ID => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ANCHOR => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            SPLIT => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    fn keys(df: &DataFrame) -> Vec<(i64, i64, String)> {
        let u = df.column(USER_ID).unwrap().i64().unwrap();
        let a = df.column(ANCHOR).unwrap().i64().unwrap();
        let s = df.column(SPLIT).unwrap().str().unwrap();
        (0..df.height())
            .map(|i| {
                (
                    u.get(i).unwrap(),
                    a.get(i).unwrap(),
                    s.get(i).unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn keeps_the_smallest_hashes_whatever_the_order_and_every_test_row() {
        let mut rows = Vec::new();
        for a in [10i64, 20, 30] {
            for u in 0..400i64 {
                let split = match a {
                    10 => "train",
                    20 => "val",
                    _ => "test",
                };
                rows.push((u * 7 + 1, a, split));
            }
        }
        // Expected, by brute force: the 50 train and 30 val rows with the smallest hashes.
        let pick = |split: &str, cap: usize| {
            let mut v: Vec<_> = rows
                .iter()
                .filter(|r| r.2 == split)
                .map(|r| (row_hash(r.0, r.1, 9), r.0, r.1))
                .collect();
            v.sort();
            v.truncate(cap);
            v.into_iter().map(|(_, u, a)| (u, a)).collect::<Vec<_>>()
        };
        let mut want: Vec<(i64, i64, String)> = pick("train", 50)
            .into_iter()
            .map(|(u, a)| (u, a, "train".to_string()))
            .chain(
                pick("val", 30)
                    .into_iter()
                    .map(|(u, a)| (u, a, "val".into())),
            )
            .chain(
                rows.iter()
                    .filter(|r| r.2 == "test")
                    .map(|r| (r.0, r.1, "test".into())),
            )
            .collect();
        want.sort_by_key(|r| (r.1, r.0));
        for chunk in [rows.len(), 97, 13] {
            // In reverse order, in pieces: the same rows come out, sorted.
            let mut s = Sampler::new(50, 30, 9);
            let rev: Vec<_> = rows.iter().rev().cloned().collect();
            for part in rev.chunks(chunk) {
                s.push(table(part)).unwrap();
            }
            assert_eq!(keys(&s.finish().unwrap()), want, "pieces of {chunk}");
        }
        // Another seed, another sample; a cap of 0 keeps everything.
        let mut s = Sampler::new(50, 30, 10);
        s.push(table(&rows)).unwrap();
        assert_ne!(keys(&s.finish().unwrap()), want);
        let mut s = Sampler::new(0, 0, 9);
        s.push(table(&rows)).unwrap();
        assert_eq!(s.finish().unwrap().height(), rows.len());
    }
}
