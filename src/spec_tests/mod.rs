//! The provider held to Azure's published REST API specification, the copy vendored under
//! `spec/` (issue 22). `cargo test --lib spec_` runs it; every test here is named `spec_…`.
//!
//! - `examples`: every example response of every operation the provider calls decodes through
//!   the provider's own ARM types (the decoders the client uses) and the engine's reading of them,
//!   and the provider reads the values the example holds;
//! - `requests`: every extension body the engine sends, for each input it takes and each target
//!   (a VM, a uniform scale set's instance, a scale set's model), validates against its
//!   operation's request schema in strict mode;
//! - `api_version`: the provider calls the Compute api-version the vendored definitions are for,
//!   and no newer stable one exists unless `spec/api-version-allow.tsv` says why not.
//!
//! The engine runs here against [`fake::ExampleArm`], which answers with what the specification's
//! examples decoded to and records what the engine sends.

mod api_version;
mod examples;
mod fake;
mod requests;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use spec_check::{COMPUTE_DIR, Operation, Spec, swagger_files};

/// `spec/` at the crate root.
fn spec_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec")
}

/// The vendored Compute definitions (strict mode), loaded once for every test here.
fn compute() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let root = spec_root();
        let files = swagger_files(&root, COMPUTE_DIR).expect("the Compute folder is vendored");
        let names: Vec<&str> = files.iter().map(String::as_str).collect();
        Spec::load(&root, &names).expect("the vendored specification loads")
    })
}

/// The operation `id` of the vendored definitions.
fn operation(id: &str) -> &'static Operation {
    compute()
        .operation(id)
        .unwrap_or_else(|| panic!("{id} is in the vendored specification"))
}
