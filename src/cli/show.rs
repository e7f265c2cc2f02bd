//! What the commands print: text with control characters escaped, progress bars on stderr, and
//! errors as color-eyre shows them.

use crate::engine::Error;
use crate::engine::text::printable;

/// color-eyre prints errors (headline, causes, suggestion) and panics; in colour only on a
/// terminal and without NO_COLOR.
pub(super) fn install_error_report() {
    use std::io::IsTerminal;
    // A user's error is no bug: no backtrace under it, even with RUST_BACKTRACE set (panics
    // still get theirs).
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let theme = if color {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    let _ = color_eyre::config::HookBuilder::default()
        .theme(theme)
        .display_env_section(false)
        .install();
}

/// Text for the terminal: control characters escaped (ESC, BEL, CR, C1 …) as by
/// [`printable`], line by line, so a message's or a summary's own line breaks stay. Every text
/// the command line prints that may hold a log's value, a file name or a config's name goes
/// through here: a hostile log must not clear the screen, set the title or write the
/// clipboard (OSC 52).
pub(crate) fn shown(s: &str) -> String {
    s.split('\n').map(printable).collect::<Vec<_>>().join("\n")
}

/// A path as the terminal may show it.
pub(crate) fn shown_path(p: &std::path::Path) -> String {
    printable(&p.display().to_string()).into_owned()
}

/// The error as color-eyre shows it: the headline, each cause under it, and the suggestion,
/// each with control characters escaped (they may quote a log's value or a file name).
pub(super) fn report(e: &Error) -> color_eyre::Report {
    use color_eyre::Section as _;
    let (headline, causes) = e.headline_and_causes();
    let causes: Vec<String> = causes.iter().map(|c| shown(c)).collect();
    let headline = shown(&headline);
    let mut r = match causes.split_last() {
        Some((innermost, outer)) => outer
            .iter()
            .rev()
            .fold(color_eyre::eyre::eyre!("{innermost}"), |r, c| {
                r.wrap_err(c.clone())
            })
            .wrap_err(headline),
        None => color_eyre::eyre::eyre!("{headline}"),
    };
    if let Some(h) = e.suggestion() {
        r = r.suggestion(shown(h));
    }
    r
}

/// One bar on stderr: the stage, then each step. indicatif hides it when stderr is not a
/// terminal (scripts and cron see only the finished lines).
pub(super) fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed:>4} {msg} {wide_bar} {pos}/{len}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A finished line above the bar, or on stderr when the bar is hidden (not a terminal).
pub(super) fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// A pass of the out-of-core feature stage on the bar: events scanned (with the rate), or
/// bucket units done.
pub(super) fn show_pass(bar: &indicatif::ProgressBar, pass: &str, done: u64, total: u64) {
    if total == 0 {
        let secs = bar.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "features · {pass}: {:.1}M ({:.1}M/s)",
            done as f64 / 1e6,
            done as f64 / 1e6 / secs
        ));
        bar.set_length(0);
    } else {
        bar.set_message(format!("features · {pass}"));
        bar.set_length(total);
        bar.set_position(done);
    }
}
