//! An input CSV file's text: decompressed when it is gzip, and read in lines no longer than
//! `MAX_LINE`, so neither the scan's checks nor the diagnosis ever hold a wild "line" whole.

use std::fs::File;
use std::io::{BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::source::{Format, InputFile};
use crate::engine::{Error, Result};

/// Open a CSV or CSV.gz file as a byte stream.
pub fn open_text(file: &InputFile) -> Result<Box<dyn Read>> {
    let f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    Ok(match file.format {
        Format::CsvGz => Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 16, f))),
        _ => Box::new(f),
    })
}

/// The longest CSV line read (bytes): a REES46 line is about 150 bytes, so a longer one is no
/// event (a binary file, or a value gone wild); refused rather than held whole in memory.
pub const MAX_LINE: usize = 1 << 20;

/// The error of a line longer than `MAX_LINE`.
#[derive(Debug)]
pub struct LineTooLong;

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a line longer than {} MB: an event line is a few hundred bytes (is this a CSV \
             file of events?)",
            MAX_LINE >> 20
        )
    }
}

impl std::error::Error for LineTooLong {}

/// Passes bytes through and fails with `LineTooLong` once a line passes `MAX_LINE`, so a
/// reader never buffers a 4 GB "line" whole.
pub struct BoundedLines<R> {
    inner: R,
    run: usize,
}

impl<R> BoundedLines<R> {
    pub fn new(inner: R) -> Self {
        BoundedLines { inner, run: 0 }
    }
}

impl<R: std::io::Read> std::io::Read for BoundedLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let data = &buf[..n];
        let too_long = || std::io::Error::new(std::io::ErrorKind::InvalidData, LineTooLong);
        match (
            data.iter().position(|&b| b == b'\n'),
            data.iter().rposition(|&b| b == b'\n'),
        ) {
            (Some(first), Some(last)) => {
                if self.run + first > MAX_LINE {
                    return Err(too_long());
                }
                // Lines wholly inside this read matter only when it is longer than a line may be.
                if last - first > MAX_LINE
                    && data[first..=last]
                        .split(|&b| b == b'\n')
                        .any(|l| l.len() > MAX_LINE)
                {
                    return Err(too_long());
                }
                self.run = n - 1 - last;
            }
            _ => self.run += n,
        }
        if self.run > MAX_LINE {
            return Err(too_long());
        }
        Ok(n)
    }
}
