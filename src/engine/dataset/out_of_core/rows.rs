//! The bucket files of the out-of-core spill: rows of the spilled columns, encoded one after
//! another (integers and floats as 8 little-endian bytes, strings as a length and the bytes,
//! each value behind a null flag), appended to a per-bucket byte buffer and written when it
//! fills. Buffers own their bytes, so what the spill holds is exactly what it counts; slices of
//! polars batches would keep whole batches alive, and a Parquet writer per bucket was most of
//! the pass's time.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::engine::error::PolarsContext;
use crate::engine::{Error, Result};

/// How a spilled column is stored, and the type it is read back as.
#[derive(Debug, Clone)]
pub struct Layout {
    cols: Vec<(PlSmallStr, Kind, DataType)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Text,
}

fn kind_of(dtype: &DataType) -> Kind {
    match dtype {
        DataType::Float64 | DataType::Float32 => Kind::Float,
        dt if dt.is_integer() => Kind::Int,
        _ => Kind::Text,
    }
}

enum Values<'a> {
    Int(Box<dyn Iterator<Item = Option<i64>> + 'a>),
    Float(Box<dyn Iterator<Item = Option<f64>> + 'a>),
    Text(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
}

impl Layout {
    /// The layout of `df`'s columns (the first batch sets it for the whole pass).
    pub fn of(df: &DataFrame) -> Layout {
        Layout {
            cols: df
                .columns()
                .iter()
                .map(|c| (c.name().clone(), kind_of(c.dtype()), c.dtype().clone()))
                .collect(),
        }
    }

    /// Append row `i` of `df` for every `i`, to `out[bucket[i]]`.
    pub fn encode(&self, df: &DataFrame, bucket: &[u32], out: &mut [Vec<u8>]) -> Result<()> {
        let mut casts: Vec<Column> = Vec::with_capacity(self.cols.len());
        for (name, kind, _) in &self.cols {
            let c = df.column(name).ctx(|| name.to_string())?;
            let want = match kind {
                Kind::Int => DataType::Int64,
                Kind::Float => DataType::Float64,
                Kind::Text => DataType::String,
            };
            casts.push(c.cast(&want).ctx(|| name.to_string())?);
        }
        let mut values: Vec<Values> = Vec::with_capacity(casts.len());
        for (c, (name, kind, _)) in casts.iter().zip(&self.cols) {
            values.push(match kind {
                Kind::Int => Values::Int(Box::new(c.i64().ctx(|| name.to_string())?.iter())),
                Kind::Float => Values::Float(Box::new(c.f64().ctx(|| name.to_string())?.iter())),
                Kind::Text => Values::Text(Box::new(c.str().ctx(|| name.to_string())?.iter())),
            });
        }
        for &b in bucket {
            let buf = &mut out[b as usize];
            for v in values.iter_mut() {
                match v {
                    Values::Int(it) => match it.next().flatten() {
                        Some(x) => {
                            buf.push(1);
                            buf.extend_from_slice(&x.to_le_bytes());
                        }
                        None => buf.push(0),
                    },
                    Values::Float(it) => match it.next().flatten() {
                        Some(x) => {
                            buf.push(1);
                            buf.extend_from_slice(&x.to_le_bytes());
                        }
                        None => buf.push(0),
                    },
                    Values::Text(it) => match it.next().flatten() {
                        Some(s) => {
                            buf.push(1);
                            buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                            buf.extend_from_slice(s.as_bytes());
                        }
                        None => buf.push(0),
                    },
                }
            }
        }
        Ok(())
    }

    /// Read back a bucket file written from `encode`'s buffers, as a frame of the original
    /// column types.
    pub fn decode(&self, path: &Path) -> Result<DataFrame> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let corrupt = || Error::in_file(path, "a spill file ends inside a row");
        // Texts are located by 32-bit offsets: a larger bucket would be misread, not read.
        if bytes.len() > u32::MAX as usize {
            return Err(Error::in_file(
                path,
                "a spill bucket of 4 GiB or more: give a smaller --memory (more, smaller buckets)",
            ));
        }
        // Per column: numbers as bits, or texts as (start, length) in `bytes`; a null flag per
        // row only for columns that have a null (most never do).
        let mut nums: Vec<Vec<u64>> = vec![Vec::new(); self.cols.len()];
        let mut texts: Vec<Vec<(u32, u32)>> = vec![Vec::new(); self.cols.len()];
        let mut nulls: Vec<Option<Vec<bool>>> = vec![None; self.cols.len()];
        let mut pos = 0usize;
        let mut row = 0usize;
        let get = |pos: usize, n: usize| bytes.get(pos..pos + n).ok_or_else(corrupt);
        while pos < bytes.len() {
            for (j, (_, kind, _)) in self.cols.iter().enumerate() {
                let present = get(pos, 1)?[0] == 1;
                pos += 1;
                if !present && nulls[j].is_none() {
                    nulls[j] = Some(vec![false; row]);
                }
                if let Some(flags) = &mut nulls[j] {
                    flags.push(!present);
                }
                match kind {
                    Kind::Int | Kind::Float => {
                        let v = if present {
                            pos += 8;
                            u64::from_le_bytes(to8(get(pos - 8, 8)?))
                        } else {
                            0
                        };
                        nums[j].push(v);
                    }
                    Kind::Text => {
                        let (start, n) = if present {
                            let n = u32::from_le_bytes(to4(get(pos, 4)?));
                            pos += 4;
                            get(pos, n as usize)?;
                            pos += n as usize;
                            ((pos - n as usize) as u32, n)
                        } else {
                            (0, 0)
                        };
                        texts[j].push((start, n));
                    }
                }
            }
            row += 1;
        }
        let mut cols = Vec::with_capacity(self.cols.len());
        for (j, (name, kind, dtype)) in self.cols.iter().enumerate() {
            let null = nulls[j].as_deref().unwrap_or_default();
            let valid = |i: usize| null.get(i) != Some(&true);
            let s = match kind {
                Kind::Int => numeric::<Int64Type>(
                    name.clone(),
                    nums[j].iter().map(|&x| x as i64).collect(),
                    null,
                ),
                Kind::Float => numeric::<Float64Type>(
                    name.clone(),
                    nums[j].iter().map(|&x| f64::from_bits(x)).collect(),
                    null,
                ),
                Kind::Text => {
                    let mut bad = false;
                    let ca: StringChunked = texts[j]
                        .iter()
                        .enumerate()
                        .map(|(i, &(start, n))| {
                            if !valid(i) {
                                return None;
                            }
                            let b = &bytes[start as usize..(start + n) as usize];
                            let s = std::str::from_utf8(b);
                            bad |= s.is_err();
                            Some(s.unwrap_or_default())
                        })
                        .collect();
                    if bad {
                        return Err(corrupt());
                    }
                    ca.with_name(name.clone()).into_series()
                }
            };
            let s = if s.dtype() == dtype {
                s
            } else {
                s.cast(dtype).ctx(|| name.to_string())?
            };
            cols.push(s.into_column());
        }
        DataFrame::new_infer_height(cols).ctx(|| format!("reading back {}", path.display()))
    }
}

fn to8(s: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    a
}

fn to4(s: &[u8]) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    a
}

/// Append `buf` to the bucket file at `path` (made on first use) and empty it.
pub fn append(path: &Path, file: &mut Option<std::fs::File>, buf: &mut Vec<u8>) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    if file.is_none() {
        *file = Some(std::fs::File::create(path).map_err(|e| Error::io(path, e))?);
    }
    if let Some(f) = file {
        f.write_all(buf).map_err(|e| Error::io(path, e))?;
    }
    buf.clear();
    Ok(())
}

/// A numeric column from its values, null where `null` says so (no flags: none is).
fn numeric<T>(name: PlSmallStr, v: Vec<T::Native>, null: &[bool]) -> Series
where
    T: PolarsNumericType,
    ChunkedArray<T>: IntoSeries,
{
    if null.is_empty() {
        ChunkedArray::<T>::from_vec(name, v).into_series()
    } else {
        ChunkedArray::<T>::from_iter_options(
            name,
            v.into_iter().zip(null).map(|(x, &n)| (!n).then_some(x)),
        )
        .into_series()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_per_bucket_in_order() {
        let df = df!(
            "a" => [Some(1i64), None, Some(-3), Some(i64::MAX)],
            "p" => [Some(0.1f64), Some(f64::MAX), None, Some(-0.0)],
            "s" => [Some("x"), None, Some(""), Some("ünï")],
        )
        .unwrap();
        let layout = Layout::of(&df);
        let d = tempfile::tempdir().unwrap();
        let mut bufs = vec![Vec::new(), Vec::new()];
        // Rows 0 and 2 to bucket 1, rows 1 and 3 to bucket 0; twice, as two batches.
        layout.encode(&df, &[1, 0, 1, 0], &mut bufs).unwrap();
        let mut files = [None, None];
        let paths = [d.path().join("b0"), d.path().join("b1")];
        for b in 0..2 {
            append(&paths[b], &mut files[b], &mut bufs[b]).unwrap();
        }
        layout.encode(&df, &[1, 0, 1, 0], &mut bufs).unwrap();
        for b in 0..2 {
            append(&paths[b], &mut files[b], &mut bufs[b]).unwrap();
        }
        drop(files);
        let pick = |rows: &[u32]| {
            let idx = IdxCa::from_vec("".into(), rows.to_vec());
            let one = df.take(&idx).unwrap();
            let mut two = one.clone();
            two.vstack_mut(&one).unwrap();
            two
        };
        assert!(
            layout
                .decode(&paths[0])
                .unwrap()
                .equals_missing(&pick(&[1, 3]))
        );
        assert!(
            layout
                .decode(&paths[1])
                .unwrap()
                .equals_missing(&pick(&[0, 2]))
        );
        // A file cut inside a row is an error, not fewer rows.
        let bytes = std::fs::read(&paths[1]).unwrap();
        std::fs::write(&paths[1], &bytes[..bytes.len() - 2]).unwrap();
        assert!(layout.decode(&paths[1]).is_err());
    }
}
