//! Where and how files are written (issue 9's hostile sweep): an output that exists and is not
//! a regular file (a FIFO, a device, a directory), a file of a run, a read-only file or one of
//! the command's own inputs is refused and left as it was; every file written honours the umask.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command as StdCommand;

use crate::common::*;

fn mkfifo(p: &Path) {
    assert!(StdCommand::new("mkfifo").arg(p).status().unwrap().success());
}

fn is_fifo(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_fifo())
}

// 1. An output that exists and is not a regular file is refused, never replaced.
#[test]
fn outputs_never_replace_devices_fifos_or_directories() {
    let (d, run) = run_copy();
    let fifo = d.path().join("pipe.csv");
    mkfifo(&fifo);
    // A link to a device: were it followed by a rename, only the link would be replaced, so
    // this probe cannot damage the machine even if the check were missing.
    let dev = d.path().join("null.csv");
    std::os::unix::fs::symlink("/dev/null", &dev).unwrap();
    let dir = d.path().join("adir.csv");
    std::fs::create_dir(&dir).unwrap();
    for out in [&fifo, &dev, &dir] {
        let err = fails(&mut export_cmd(&run, out));
        assert!(
            err.contains("not a regular file") || err.contains("is a directory"),
            "{}: {err}",
            out.display()
        );
    }
    let err = fails(&mut report_cmd(&run, &fifo));
    assert!(err.contains("not a regular file"), "{err}");
    assert!(is_fifo(&fifo), "the FIFO is still a FIFO");
    assert!(
        std::fs::symlink_metadata(&dev)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(dir.is_dir());
    // The same rule holds for every writer: the feature table and generated logs too.
    let err = fails(bin().args(["gen", "--users", "10", "--out"]).arg(&fifo));
    assert!(err.contains("not a regular file"), "{err}");
    assert!(is_fifo(&fifo));
}

// 2. An output never replaces a file of a run, nor a read-only file.
#[test]
fn outputs_never_replace_run_files_or_read_only_files() {
    let (d, run) = run_copy();
    let manifest = std::fs::read(run.join("manifest.json")).unwrap();
    let err = fails(&mut report_cmd(&run, &run.join("manifest.json")));
    assert!(err.contains("is a file of the run"), "{err}");
    assert_eq!(std::fs::read(run.join("manifest.json")).unwrap(), manifest);
    let model = std::fs::read(run.join("models/logreg.json")).unwrap();
    let err = fails(&mut export_cmd(&run, &run.join("models/logreg.json")));
    assert!(err.contains("is a file of the run"), "{err}");
    assert_eq!(
        std::fs::read(run.join("models/logreg.json")).unwrap(),
        model
    );
    // Through another spelling of the same directory too.
    let odd = run.join("models/../eval.json");
    fails(&mut report_cmd(&run, &odd));
    // Other names inside the run are the workbench's own export place: allowed.
    export_cmd(&run, &run.join("targets.csv"))
        .assert()
        .success();

    let ro = d.path().join("ro.md");
    std::fs::write(&ro, "keep me").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    let err = fails(&mut report_cmd(&run, &ro));
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(std::fs::read_to_string(&ro).unwrap(), "keep me");

    // `features --out` naming one of its own inputs.
    std::fs::copy(
        sample_dir().join("2019-Oct.csv.gz"),
        d.path().join("x.csv.gz"),
    )
    .unwrap();
    let input = d.path().join("x.csv.gz");
    let before = std::fs::read(&input).unwrap();
    let err = fails(
        bin()
            .args(["features", "--data"])
            .arg(&input)
            .arg("--out")
            .arg(&input),
    );
    assert!(err.contains("input"), "{err}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

// 17. Every file written honours the umask.
#[test]
fn outputs_honour_the_umask() {
    let (d, run) = run_copy();
    let exe = exe();
    for (mask, want) in [("077", 0o600), ("022", 0o644)] {
        for ext in ["csv", "parquet", "xlsx"] {
            let out = d.path().join(format!("t{mask}.{ext}"));
            let ok = StdCommand::new("sh")
                .arg("-c")
                .arg(format!(
                    "umask {mask}; exec \"$0\" export --run \"$1\" --out \"$2\""
                ))
                .arg(&exe)
                .arg(&run)
                .arg(&out)
                .status()
                .unwrap()
                .success();
            assert!(ok);
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, want, "{} under umask {mask}", out.display());
        }
    }
    // A whole run under umask 077: nothing in it readable by others.
    let a = tempfile::tempdir().unwrap();
    let out = a.path().join("runs");
    let ok = StdCommand::new("sh")
        .arg("-c")
        .arg("umask 077; exec \"$0\" train --models rule_recency --trials 1 --out \"$1\"")
        .arg(&exe)
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mut files = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            }
            files.push(e.path());
        }
    }
    assert!(files.len() > 8, "{files:?}");
    for f in files {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o077;
        assert_eq!(mode, 0, "{} is open to others", f.display());
    }
}
