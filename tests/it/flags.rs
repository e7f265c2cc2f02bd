//! Every flag of every command (issue 29 #21): a numeric flag takes a negative value to its own
//! range check (not "unexpected argument"), and every `--flag` the source's messages and hints
//! name exists.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::common::{bin_no_color, run_err};

/// Every numeric flag of every command, with its command path.
fn numeric_flags() -> Vec<(Vec<String>, String)> {
    use clap::CommandFactory;
    use std::any::TypeId;
    let numeric = [
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<churn_tui::engine::eval::KPct>(),
    ];
    fn walk(
        cmd: &clap::Command,
        path: Vec<String>,
        numeric: &[std::any::TypeId],
        out: &mut Vec<(Vec<String>, String, bool)>,
    ) {
        for a in cmd.get_arguments() {
            let Some(long) = a.get_long() else { continue };
            if numeric.iter().any(|t| a.get_value_parser().type_id() == *t) {
                let hyphen = a.is_allow_negative_numbers_set() || a.is_allow_hyphen_values_set();
                out.push((path.clone(), long.to_string(), hyphen));
            }
        }
        for s in cmd.get_subcommands() {
            let mut p = path.clone();
            p.push(s.get_name().to_string());
            walk(s, p, numeric, out);
        }
    }
    let mut all = Vec::new();
    walk(&churn_tui::cli::Cli::command(), vec![], &numeric, &mut all);
    let refused: Vec<String> = all
        .iter()
        .filter(|(_, _, hyphen)| !hyphen)
        .map(|(p, l, _)| format!("{} --{l}", p.join(" ")))
        .collect();
    assert!(
        refused.is_empty(),
        "numeric flags that would read `-5` as a flag: {refused:?}"
    );
    all.into_iter().map(|(p, l, _)| (p, l)).collect()
}

/// Issue 29 item 21: `--k -5` and `--holdout -1` read as unknown flags. Every numeric flag takes
/// a negative value to its own range check.
#[test]
fn every_numeric_flag_takes_a_negative_value_to_its_range_check() {
    let flags = numeric_flags();
    for want in [
        "k",
        "holdout",
        "seed",
        "horizon-days",
        "lookback-days",
        "trials",
        "sample-train",
        "users",
        "months",
        "reps",
    ] {
        assert!(flags.iter().any(|(_, l)| l == want), "--{want} not found");
    }
    for (path, long) in &flags {
        let mut args: Vec<String> = path.clone();
        args.push(format!("--{long}"));
        args.push("-5".into());
        let o = bin_no_color().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("invalid value '-5' for '--{long}"))
                && !err.contains("unexpected argument"),
            "{args:?}: {err}"
        );
    }
    // The words a user sees for the two of the report.
    let err = run_err(&["export", "--run", "r", "--out", "x.csv", "--k", "-5"]);
    assert!(err.contains("K must be more than 0%"), "{err}");
    let err = run_err(&["campaign", "create", "--run", "r", "--holdout", "-1"]);
    assert!(err.contains("from 0 to 50"), "{err}");
    let err = run_err(&["train", "--seed", "-1"]);
    assert!(err.contains("must be ≥ 0"), "{err}");
    // A size is text with a unit: it takes any hyphen value to its own parser.
    let err = run_err(&["summary", "--data", "none.csv", "--memory", "-5MB"]);
    assert!(err.contains("bad size `-5MB`"), "{err}");
}

/// Issue 29 item 21: a suggestion named `--tiers-config`, which does not exist. Every `--flag`
/// that the source's messages and hints name (any string, outside comments and attributes) is
/// a flag of some command.
#[test]
fn every_flag_a_message_names_exists() {
    use clap::CommandFactory;
    fn longs(cmd: &clap::Command, out: &mut HashSet<String>) {
        for a in cmd.get_arguments() {
            out.extend(a.get_long().map(str::to_string));
            out.extend(
                a.get_all_aliases()
                    .unwrap_or_default()
                    .into_iter()
                    .map(str::to_string),
            );
        }
        for s in cmd.get_subcommands() {
            longs(s, out);
        }
    }
    let mut known: HashSet<String> = ["help", "version"].map(String::from).into();
    longs(&churn_tui::cli::Cli::command(), &mut known);
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut sources = Vec::new();
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut sources,
    );
    let mut named = 0;
    let mut unknown = Vec::new();
    for f in &sources {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            // A file's unit tests (at its end) hold sample text, no messages.
            if t.starts_with("#[cfg(test)]") {
                break;
            }
            if t.starts_with("//") || t.starts_with("#[") {
                continue;
            }
            let b = line.as_bytes();
            for at in 0..b.len().saturating_sub(2) {
                let starts = b[at] == b'-'
                    && b[at + 1] == b'-'
                    && b[at + 2].is_ascii_lowercase()
                    && (at == 0 || !(b[at - 1] == b'-' || b[at - 1].is_ascii_alphanumeric()));
                if !starts {
                    continue;
                }
                let flag: String = line[at + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                    .collect();
                let flag = flag.trim_end_matches('-');
                named += 1;
                if !known.contains(flag) {
                    unknown.push(format!("{}:{}: --{flag}", f.display(), i + 1));
                }
            }
        }
    }
    assert!(named > 20, "the scan found {named} flags");
    assert!(unknown.is_empty(), "flags no command has: {unknown:#?}");
}
