//! What a process killed mid-write leaves behind (issue 9 #16, issue 29 #19): temp files, temp
//! runs and `gen`'s work folders are removed by the next start, and never opened or listed as a
//! run. The kills are real: a test re-runs this test binary as a child (`killed_child`, ignored
//! when run alone) that sends itself SIGKILL half-way through a write.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use crate::common::*;

// 16. Temp runs of killed processes are removed on the next start and never opened.
#[test]
fn stale_temp_runs_are_cleaned_and_never_opened() {
    use churn_tui::engine::run::files::{RUN_TMP_PREFIX, WRITING_LOCK, clean_stale_runs};
    let root = tempfile::tempdir().unwrap();
    let dead = root.path().join(format!("{RUN_TMP_PREFIX}dead.tmp"));
    let live = root.path().join(format!("{RUN_TMP_PREFIX}live.tmp"));
    copy_dir(&fixture_run(), &dead);
    copy_dir(&fixture_run(), &live);
    std::fs::write(dead.join(WRITING_LOCK), "").unwrap();
    let held = std::fs::File::create(live.join(WRITING_LOCK)).unwrap();
    held.lock().unwrap();
    let tmp_file = root.path().join(".churn-tui-abc.tmp");
    std::fs::write(&tmp_file, "half").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp_file)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(10))
        .unwrap();
    // Whatever is half-written is never opened, even with every file in place.
    let err = churn_tui::engine::run::open::LoadedRun::load(&dead)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unfinished run"), "{err}");
    let cfg: churn_tui::engine::run::TrainConfig = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(dead.join("manifest.json")).unwrap(),
        )
        .unwrap()["config"]
            .clone(),
    )
    .unwrap();
    assert_eq!(
        churn_tui::engine::run::open::find_run(root.path(), &cfg),
        None
    );
    clean_stale_runs(root.path());
    assert!(!dead.exists(), "a killed writer's run is removed");
    assert!(live.exists(), "a live writer's run stays");
    assert!(!tmp_file.exists(), "a killed writer's temp file is removed");
}

/// What a killed process does to itself in `killed_child`, chosen by the parent.
const KILL_MODE: &str = "CHURN_TEST_KILL_MODE";
const KILL_DIR: &str = "CHURN_TEST_KILL_DIR";

fn kill_self() -> ! {
    // SAFETY: signalling our own pid; SIGKILL ends the process at once, like `kill -9`.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    unreachable!("SIGKILL returned")
}

// The child process of `a_killed_writer_leaves_nothing_the_next_start_keeps`: it dies by
// SIGKILL half-way through writing an export or saving a run.
#[test]
#[ignore = "run by a_killed_writer_leaves_nothing_the_next_start_keeps as its child process"]
fn killed_child() {
    let dir = PathBuf::from(std::env::var(KILL_DIR).unwrap());
    match std::env::var(KILL_MODE).unwrap().as_str() {
        "file" => {
            let _ = churn_tui::engine::io::atomic::write_atomic(&dir.join("out.csv"), |w| {
                use std::io::Write;
                w.write_all(b"rank,user_id\n1,")?;
                w.flush()?;
                kill_self()
            });
        }
        _ => {
            use churn_tui::engine::run::files::RUN_TMP_PREFIX;
            let cfg = churn_tui::engine::run::TrainConfig {
                dataset: churn_tui::engine::dataset::DatasetConfig {
                    data: vec![format!("{}/*.csv.gz", sample_dir().display())],
                    ..Default::default()
                },
                models: vec!["rule_recency".into()],
                trials: 1,
                ..Default::default()
            };
            let report = churn_tui::engine::run::train(
                &cfg,
                &|_| {},
                &std::sync::atomic::AtomicBool::new(false),
            )
            .unwrap();
            let root = dir.clone();
            // Dies the moment the run's temp directory holds its writing lock, mid-save. (A
            // kill between its mkdir and its lock leaves a directory that the next start
            // removes only after a minute, as it may belong to a live writer.)
            std::thread::spawn(move || {
                loop {
                    let seen = std::fs::read_dir(&root)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .any(|e| {
                            e.file_name().to_string_lossy().starts_with(RUN_TMP_PREFIX)
                                && e.path()
                                    .join(churn_tui::engine::run::files::WRITING_LOCK)
                                    .exists()
                        });
                    if seen {
                        kill_self();
                    }
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            });
            let _ = churn_tui::engine::run::save::save_new(&report, &dir);
            // Saved before the watcher saw it: still die, the parent reports it.
            kill_self();
        }
    }
}

// 16, with real kills: what a killed writer leaves is removed by the next start, and nothing
// it left is ever listed as a run.
#[test]
fn a_killed_writer_leaves_nothing_the_next_start_keeps() {
    let child = |mode: &str, dir: &Path| {
        let status = StdCommand::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "killed_writers::killed_child",
                "--nocapture",
            ])
            .env(KILL_MODE, mode)
            .env(KILL_DIR, dir)
            .output()
            .unwrap()
            .status;
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{mode}: {status:?}");
    };

    let d = tempfile::tempdir().unwrap();
    child("file", d.path());
    assert_eq!(
        hidden_in(d.path()).len(),
        1,
        "the killed export left its temp file"
    );
    assert!(!d.path().join("out.csv").exists(), "no half-written export");
    // Unlocked temp files are removed once older than a moment (a live writer locks its file
    // right after making it): age this one instead of waiting.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
    for e in std::fs::read_dir(d.path()).unwrap().flatten() {
        std::fs::File::options()
            .write(true)
            .open(e.path())
            .unwrap()
            .set_modified(past)
            .unwrap();
    }
    export_cmd(&fixture_run(), &d.path().join("next.csv"))
        .assert()
        .success();
    assert!(hidden_in(d.path()).is_empty(), "{:?}", hidden_in(d.path()));

    let root = tempfile::tempdir().unwrap();
    child("run", root.path());
    let left = hidden_in(root.path());
    assert_eq!(left.len(), 1, "the killed save left its temp run: {left:?}");
    let visible: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        visible.is_empty(),
        "no run named before it was whole: {visible:?}"
    );
    let run = train_quick(
        root.path(),
        &format!("{}/*.csv.gz", sample_dir().display()),
        root.path(),
    );
    assert!(
        hidden_in(root.path()).is_empty(),
        "{:?}",
        hidden_in(root.path())
    );
    churn_tui::engine::run::open::LoadedRun::load(&run).unwrap();
}

// Issue 29, item 19: a `gen` killed with -9 leaves its work directory (sorted runs) and temp
// file; the next `gen` into that folder removes them, whatever its own size. Leftovers named
// with a dead writer's pid go at once, without the grace a young temp file gets.
#[test]
fn a_killed_gen_leaves_nothing_the_next_gen_keeps() {
    let d = tempfile::tempdir().unwrap();
    let mut child = StdCommand::new(exe())
        .args([
            "gen",
            "--users",
            "2000000",
            "--chunk-users",
            "20000",
            "--out",
        ])
        .arg(d.path().join("big.csv"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let has_runs = |d: &Path| {
        std::fs::read_dir(d).unwrap().flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with(".churn-gen-")
                && std::fs::read_dir(e.path()).is_ok_and(|r| {
                    r.flatten()
                        .any(|f| f.file_name().to_string_lossy().starts_with("run-"))
                })
        })
    };
    while !has_runs(d.path()) {
        assert!(
            started.elapsed().as_secs() < 300,
            "gen wrote no sorted run in 5 minutes"
        );
        assert!(child.try_wait().unwrap().is_none(), "gen ended early");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // A temp file of a writer that is dead now, made just now (no grace applies).
    let mut gone = StdCommand::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(
        d.path().join(format!(".churn-tui-p{pid}-abcdef.tmp")),
        "half",
    )
    .unwrap();
    assert!(hidden_in(d.path()).len() >= 2, "{:?}", hidden_in(d.path()));
    bin()
        .args(["gen", "--users", "50", "--out"])
        .arg(d.path().join("small.csv"))
        .assert()
        .success();
    assert_eq!(hidden_in(d.path()), Vec::<String>::new());
    assert!(d.path().join("small.csv").exists() && !d.path().join("big.csv").exists());
}
