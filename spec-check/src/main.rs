//! `spec-check validate-log <dir>`: validates the emulator's spec log against the vendored Azure
//! REST API specification and prints a summary. Exit code 1 when there is any finding, 2 on a
//! usage or I/O error, 0 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use spec_check::{COMPUTE_DIR, Spec, log};

#[derive(Parser)]
#[command(
    name = "spec-check",
    about = "Checks ARM traffic against the Azure REST API specification"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validates every record of the `*.jsonl` files in DIR (the emulator's `VM_EMULATOR_SPEC_LOG`).
    ValidateLog {
        /// The log directory.
        dir: PathBuf,
        /// The specification root (the folder holding `specification/`).
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec"))]
        spec: PathBuf,
        /// A swagger file to load, relative to the specification root (repeatable). Default:
        /// every `*.json` file of the Compute api-version folder the provider calls.
        #[arg(long = "file")]
        files: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::ValidateLog { dir, spec, files } => validate_log(&dir, &spec, files),
    }
}

fn validate_log(
    dir: &std::path::Path,
    spec_root: &std::path::Path,
    files: Vec<String>,
) -> ExitCode {
    let files = if files.is_empty() {
        match spec_check::swagger_files(spec_root, COMPUTE_DIR) {
            Ok(files) => files,
            Err(error) => return usage_error(&error),
        }
    } else {
        files
    };
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    let spec = match Spec::load(spec_root, &names) {
        Ok(spec) => spec,
        Err(error) => return usage_error(&error),
    };
    let report = match log::validate_dir(&spec, dir) {
        Ok(report) => report,
        Err(error) => return usage_error(&error),
    };
    print!("{report}");
    if !report.unreadable.is_empty() {
        eprintln!(
            "spec-check: {} lines of the log are not records",
            report.unreadable.len()
        );
        ExitCode::from(2)
    } else if report.has_findings() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn usage_error(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("spec-check: {error}");
    ExitCode::from(2)
}
