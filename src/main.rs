use std::process::ExitCode;

fn main() -> ExitCode {
    churn_tui::cli::main()
}
