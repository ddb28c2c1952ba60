//! Entry point: read flags, then serve the plugin — nothing else.

use std::process::ExitCode;

use terraform_provider_vm::plugin::{self, HandshakeEnv, Mode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("terraform-provider-vm {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let mode = if args.iter().any(|a| a == "--debug") {
        Mode::Debug {
            provider_address: terraform_provider_vm::PROVIDER_ADDRESS.to_string(),
        }
    } else if let Some(a) = args.first() {
        eprintln!("unknown argument {a:?}; the only flags are --debug and --version");
        return ExitCode::FAILURE;
    } else {
        match HandshakeEnv::from_env() {
            Ok(env) => Mode::Managed(env),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    };
    // Crates deep below (uuid, rand) panic when the OS gives no randomness; say it here instead.
    if let Err(e) = getrandom::fill(&mut [0u8; 16]) {
        eprintln!(
            "terraform-provider-vm: cannot get random numbers from the operating system ({e}): \
             the provider needs the getrandom system call (Linux 3.17+) or a readable /dev/urandom"
        );
        return ExitCode::FAILURE;
    }
    plugin::logging::init();
    plugin::panic::install();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(plugin::serve(
        terraform_provider_vm::protocol_server(),
        mode,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Go plugins report fatal start-up errors the same way: stderr,
            // which Terraform shows, and a non-zero exit.
            eprintln!("terraform-provider-vm: {e}");
            ExitCode::FAILURE
        }
    }
}
