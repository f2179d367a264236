//! The `switchboard` binary: parses the command line and hands over to the
//! library. The only place where errors become `anyhow` and exit codes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::admin::dispatch(cli)) {
        // The console's "Restart now": a distinct status for systemd to restart on.
        Ok(()) if switchboard::app::restart_requested() => ExitCode::from(switchboard::app::RESTART_EXIT_CODE),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard: {e:#}");
            ExitCode::from(1)
        }
    }
}
