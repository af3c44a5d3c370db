//! `stoq`: the command-line host. It turns flags and files into a [`stoq_core::Engine`] and
//! prints responses; everything about scanning lives in `stoq-core`.

mod cli;
mod commands;
mod input;
#[cfg(unix)]
mod preflight;
mod run;
mod setup;
mod submit;
mod tree;

use std::process::ExitCode;

use clap::Parser;

/// The exit status when an in-process plugin crashes the host or calls `exit()`.
const PLUGIN_ENDED_HOST: i32 = 3;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    setup::init_logging(cli.verbose);
    // Helpers (`plugin-host`, `probe-plugin`) die of their signal, which their parent reports.
    if matches!(cli.command, cli::Command::Scan(_) | cli::Command::Run(_)) {
        stoq_loader::running::install_crash_report(PLUGIN_ENDED_HOST);
    }
    let outcome = match &cli.command {
        cli::Command::Scan(args) => commands::scan(args),
        cli::Command::Run(args) => run::run(args),
        cli::Command::Submit(args) => submit::submit(args),
        cli::Command::List(args) => commands::list(args).map(|()| ExitCode::SUCCESS),
        #[cfg(unix)]
        cli::Command::PluginHost { path } => stoq_core::isolation::serve(path)
            .map(|()| ExitCode::SUCCESS)
            .map_err(anyhow::Error::msg),
        #[cfg(not(unix))]
        cli::Command::PluginHost { .. } => {
            Err(anyhow::anyhow!("plugin isolation needs a Unix system"))
        }
        cli::Command::ProbePlugin { path } => {
            #[cfg(unix)]
            preflight::probe(path);
            let _ = path;
            Ok(ExitCode::SUCCESS)
        }
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            // A closed stdout (e.g. `stoq scan x | head`) is not an error.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            #[allow(clippy::print_stderr)]
            {
                eprintln!("stoq: error: {err:#}");
            }
            ExitCode::from(2)
        }
    }
}
