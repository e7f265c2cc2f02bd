//! Every byte the engine writes: whole-or-nothing files (`atomic`), CSV (`csv_out`), Parquet
//! others can read (`parquet_out`), and what a file name's extension says it holds (`file_kind`).

pub mod atomic;
pub mod csv_out;
pub mod file_kind;
pub mod parquet_out;
