//! The layers of both crates, checked on their sources (issue 19; ARCHITECTURE.md):
//!
//! 1. ranked layers: a file imports (by `use` or by a path in code) only its own top-level
//!    module or lower-ranked ones; two modules of one rank do not import each other; the top
//!    rank (the entry points) may import anything;
//! 2. no circles among siblings: in every module, the child modules that are files of their own
//!    do not import each other in a circle, directly or through others.
//!
//! Test code (`#[cfg(test)]` items and the files declared under it) may import anything, and
//! other crates' paths are not looked at.
//!
//! To see it fail: add `use crate::provider::VmProvider;` to `src/azure/ids.rs` and run
//! `cargo test --test layers`. The self-tests at the end make it fail on small made-up trees.

#[path = "layers/modules.rs"]
mod modules;
#[path = "layers/rules.rs"]
mod rules;
#[path = "layers/source.rs"]
mod source;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use modules::{CrateSpec, CrateTree};
use rules::Findings;

/// The provider (`src/`): each top-level module's rank, higher above lower. `lib.rs` and
/// `main.rs` stand for the crate root's files and the items `lib.rs` defines.
const PROVIDER_LAYERS: &[(&str, u32)] = &[
    ("lib.rs", 10),        // entry points; may import anything
    ("main.rs", 10),       // entry point
    ("fuzzing", 10),       // entry points of the fuzz targets
    ("plugin", 9),         // go-plugin handshake, TLS, serving; imports tfprotocol
    ("provider", 8),       // the provider configuration; composes the surfaces
    ("list_resources", 7), // lists a resource's instances: their identity and object are its own
    ("resources", 6),      // a Terraform surface
    ("actions", 6),        // a Terraform surface
    ("surface", 5),        // shared by the surfaces: validation, diagnostics, attribute names
    ("runtime", 4),        // the configured Azure client and engine the surfaces share
    ("vmaccess", 3),       // the engine; knows nothing of Terraform
    ("azure", 2),          // the Resource Manager client
    ("tfprotocol", 1),     // protocol 6; knows nothing of Azure
];

/// Layers of the provider that never import each other, whatever their ranks: the protocol
/// knows nothing of Azure, and the engine and the Azure client nothing of Terraform.
const PROVIDER_APART: &[(&str, &str)] = &[
    ("tfprotocol", "azure"),
    ("tfprotocol", "vmaccess"),
    ("tfprotocol", "runtime"),
];

/// The emulator (`emulator/src/`): each top-level module's rank, higher above lower.
const EMULATOR_LAYERS: &[(&str, u32)] = &[
    ("lib.rs", 11),        // the crate root: modules and re-exports
    ("main.rs", 11),       // the binary (imports the library by name only)
    ("admin", 10),         // the typed client of the admin API, above everything it drives
    ("emulator", 9),       // Emulator::start/shutdown: state, API and server together
    ("api", 8),            // routing and handlers: ARM, Entra ID, metadata, the admin API
    ("state", 7),          // the shared state: run-time configuration, the world, the request log
    ("tenant", 6),         // the Entra tenant: directory, subscriptions, signing key, tokens
    ("config", 5),         // EmulatorConfig and the fixed values
    ("admin_messages", 4), // the admin API's messages (seeds, views, settings)
    ("compute_reads", 3),  // Compute's read budgets (a token bucket of throttle's kind)
    ("model", 2),          // the emulated world: VMs, guest state, extensions, operations
    ("faults", 2),         // injected failures
    ("throttle", 2),       // token-bucket throttling
    ("clock", 1),          // leaf: time
    ("server", 1),         // leaf: serves a router over HTTPS
    ("tls", 1),            // leaf: the per-start certificate authority
];

fn spec(dir: PathBuf, shown_as: &str, lib_name: &str) -> CrateSpec {
    CrateSpec {
        dir,
        shown_as: shown_as.to_string(),
        roots: vec!["lib.rs".to_string(), "main.rs".to_string()],
        lib_name: lib_name.to_string(),
    }
}

#[test]
fn no_file_imports_a_layer_above_it_nor_a_sibling_in_a_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crates = [
        (
            spec(root.join("src"), "src/", "terraform_provider_vm"),
            PROVIDER_LAYERS,
            PROVIDER_APART,
        ),
        (
            spec(root.join("emulator/src"), "emulator/src/", "vm_emulator"),
            EMULATOR_LAYERS,
            &[],
        ),
    ];
    let (mut read, mut skipped, mut imports) = (0, 0, 0);
    let mut violations = Vec::new();
    for (spec, ranks, apart) in &crates {
        let tree = CrateTree::load(spec);
        assert!(
            tree.files_in_tree > 5,
            "{}: only {} files found; is the folder right?",
            spec.shown_as,
            tree.files_in_tree
        );
        let findings = rules::check(&tree, ranks, apart);
        read += tree.files_in_tree;
        skipped += tree.files_on_disk - tree.files_in_tree;
        imports += findings.imports_checked;
        violations.extend(findings.violations);
    }
    assert!(
        violations.is_empty(),
        "{} layer violations in {read} files, {imports} imports checked (ARCHITECTURE.md \
         says what the rules are):\n{}",
        violations.len(),
        violations.join("\n")
    );
    // Straight to stderr: the harness keeps `println!` of a passing test to itself.
    let _ = writeln!(
        std::io::stderr(),
        "layers: {read} files read ({skipped} more are test-only), {imports} imports checked, no violations"
    );
}

// ---- Self-tests: the check fails where it should, on trees made for it. ----

/// Ranks of the made-up crate: `app` above `net`.
const DEMO_LAYERS: &[(&str, u32)] = &[("lib.rs", 3), ("main.rs", 3), ("app", 2), ("net", 1)];

/// A crate of `files` (path below `src/`, text) in a temporary folder.
fn demo(files: &[(&str, &str)]) -> (tempfile::TempDir, CrateTree) {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder");
        }
        std::fs::write(&path, text).expect("file");
    }
    let tree = CrateTree::load(&spec(dir.path().to_path_buf(), "", "demo"));
    (dir, tree)
}

fn check_demo(files: &[(&str, &str)]) -> Findings {
    let (_dir, tree) = demo(files);
    rules::check(&tree, DEMO_LAYERS, &[])
}

/// The text of the only violation found.
fn the_one_violation(findings: &Findings) -> String {
    let text = findings.violations.join("\n");
    assert_eq!(findings.violations.len(), 1, "{text}");
    text
}

/// Asserts that the findings' text says `expected`.
fn says(text: &str, expected: &str) {
    assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
}

#[test]
fn an_upward_import_is_reported_with_its_file_and_line() {
    let findings = check_demo(&[
        ("lib.rs", "pub mod app;\npub mod net;\npub use app::App;\n"),
        ("app.rs", "pub struct App;\n"),
        (
            "net.rs",
            "pub struct Socket;\n\nuse crate::app::App;\n\nfn owner() -> crate::App {\n    todo!()\n}\n",
        ),
    ]);
    let text = findings.violations.join("\n");
    assert_eq!(findings.violations.len(), 2, "{text}");
    says(
        &text,
        "rule 1 (ranked layers): net.rs:3: `use crate::app::App`: net (rank 1) imports app (rank 2), a layer above it",
    );
    // Through the crate root's re-export, in code.
    says(&text, "net.rs:5: `crate::App`: net (rank 1) imports app");
}

#[test]
fn modules_of_one_rank_may_not_import_each_other() {
    let (_dir, tree) = demo(&[
        ("lib.rs", "mod app;\nmod net;\n"),
        ("app.rs", "pub struct App;\n"),
        ("net.rs", "use crate::app::App;\n"),
    ]);
    let findings = rules::check(&tree, &[("lib.rs", 2), ("app", 1), ("net", 1)], &[]);
    let text = findings.violations.join("\n");
    says(
        &text,
        "net.rs:1: `use crate::app::App`: net and app share rank 1",
    );
}

#[test]
fn layers_kept_apart_may_not_import_each_other_downwards_either() {
    let (_dir, tree) = demo(&[
        ("lib.rs", "mod engine;\nmod protocol;\n"),
        ("protocol.rs", "pub struct Value;\n"),
        ("engine.rs", "use crate::protocol::Value;\n"),
    ]);
    let ranks = [("lib.rs", 3), ("engine", 2), ("protocol", 1)];
    assert!(rules::check(&tree, &ranks, &[]).violations.is_empty());
    let findings = rules::check(&tree, &ranks, &[("protocol", "engine")]);
    says(
        &the_one_violation(&findings),
        "engine.rs:1: `use crate::protocol::Value`: engine and protocol are kept apart",
    );
}

#[test]
fn siblings_importing_each_other_are_reported_with_each_edge() {
    let findings = check_demo(&[
        ("lib.rs", "mod net;\n"),
        ("net/mod.rs", "mod tcp;\nmod tls;\nmod udp;\n"),
        (
            "net/tcp.rs",
            "use super::tls::Config;\npub struct Stream;\n",
        ),
        (
            "net/tls.rs",
            "pub struct Config;\nfn wrap(_: super::tcp::Stream) {}\n",
        ),
        ("net/udp.rs", "use super::{tcp::Stream, tls::Config};\n"),
    ]);
    let text = the_one_violation(&findings);
    says(
        &text,
        "rule 2 (no circles among siblings): in net/ (crate::net), tcp, tls import each other in a circle:",
    );
    says(&text, "tcp -> tls: net/tcp.rs:1: `use super::tls::Config`");
    says(&text, "tls -> tcp: net/tls.rs:2: `super::tcp::Stream`");
    // udp imports both but neither imports udp: no circle through it.
    assert!(!text.contains("udp"), "{text}");
}

#[test]
fn a_longer_circle_through_a_folder_is_one_component() {
    let findings = check_demo(&[
        ("lib.rs", "mod net;\n"),
        ("net.rs", "mod a;\nmod b;\nmod c;\n"),
        ("net/a.rs", "pub struct A;\nuse super::b::B;\n"),
        ("net/b/mod.rs", "pub struct B;\nmod deep;\n"),
        ("net/b/deep.rs", "use crate::net::c::C;\n"),
        ("net/c.rs", "pub struct C;\nuse super::a::A;\n"),
    ]);
    let text = the_one_violation(&findings);
    says(&text, "a, b, c import each other in a circle");
    says(&text, "b -> c: net/b/deep.rs:1: `use crate::net::c::C`");
}

#[test]
fn a_clean_tree_passes_whatever_its_comments_strings_and_tests_say() {
    let findings = check_demo(&[
        (
            "lib.rs",
            "//! The root. crate::net imports crate::app, says this comment.\npub mod app;\npub mod net;\n",
        ),
        (
            "app.rs",
            "use crate::net::{self, Socket};\npub struct App(Socket);\nfn f() { net::open(); }\n",
        ),
        (
            "net.rs",
            r####"//! Not an import: use crate::app::App;
/* Nor this: crate::app::App, /* nested */ still a comment: crate::app */
/// Nor a doc comment: [`crate::app::App`].
pub struct Socket;
pub fn open() {}
const NOTE: &str = "crate::app::App";
const RAW: &str = r#"use crate::app::App; "quoted""#;
const QUOTE: char = '"';
fn longest<'a>(a: &'a str, _b: &'a str) -> &'a str { a }
#[cfg(test)]
mod tests {
    use crate::app::App;
    fn uses() -> crate::app::App { todo!() }
}
#[cfg(test)]
impl Socket {
    fn app(&self) -> crate::app::App { todo!() }
}
#[cfg(all(test, unix))]
use crate::app::App;
#[cfg(test)]
mod fake;
pub(crate) struct Conn {
    #[cfg(test)]
    pub(crate) owner: crate::app::App,
    pub(crate) open: bool,
}
pub(in crate::net) struct Inner;
mod only_tests;
"####,
        ),
        ("net/fake.rs", "use crate::app::App;\n"),
        ("net/only_tests.rs", "#![cfg(test)]\nuse crate::app::App;\n"),
    ]);
    assert!(
        findings.violations.is_empty(),
        "{}",
        findings.violations.join("\n")
    );
    // `crate::net::{self, Socket}` (two) and `net::open` (a path through a name a `use` brought
    // in: the `use` is what counts).
    assert_eq!(findings.imports_checked, 2);
}

#[test]
fn paths_resolve_to_the_module_that_defines_the_item() {
    let (_dir, tree) = demo(&[
        (
            "lib.rs",
            "pub mod app;\npub mod net;\npub use net::tcp::Stream;\n",
        ),
        (
            "net/mod.rs",
            "pub mod tcp;\npub(crate) mod tls;\npub use tls::Config;\n",
        ),
        ("net/tcp.rs", "pub struct Stream;\n"),
        ("net/tls.rs", "pub struct Config;\n"),
        (
            "app.rs",
            "mod ui;
use ui::Window;
pub(crate) use crate::{net::{tcp::Stream, tls}, Stream as Again};
pub use super::net::Config;
use self::ui::Button;
use std::fmt;
fn f() -> crate::net::tls::Config { todo!() }
fn g() -> ui::Button { todo!() }
",
        ),
        (
            "app/ui.rs",
            "pub struct Window;\npub struct Button;\nuse super::super::net::tcp;\nfn g(_: crate::Stream) {}\n",
        ),
        ("main.rs", "use demo::app;\n"),
    ]);
    let resolved: Vec<String> = tree
        .imports
        .iter()
        .map(|import| {
            let target = tree
                .target(import)
                .map_or("(another crate)".to_string(), |m| m.join("::"));
            format!("{}: {} -> {target}", import.file, import.path.text())
        })
        .collect();
    let expected = [
        "lib.rs: use net::tcp::Stream -> net::tcp",
        "net/mod.rs: use tls::Config -> net::tls",
        "app.rs: use ui::Window -> app::ui",
        "app.rs: use crate::net::tcp::Stream -> net::tcp",
        "app.rs: use crate::net::tls -> net::tls",
        "app.rs: use crate::Stream as Again -> net::tcp",
        "app.rs: use super::net::Config -> net::tls",
        "app.rs: use self::ui::Button -> app::ui",
        "app.rs: use std::fmt -> (another crate)",
        "app.rs: crate::net::tls::Config -> net::tls",
        "app.rs: ui::Button -> app::ui",
        "app/ui.rs: use super::super::net::tcp -> net::tcp",
        "app/ui.rs: crate::Stream -> net::tcp",
        "main.rs: use demo::app -> app",
    ];
    for line in expected {
        assert!(
            resolved.iter().any(|r| r == line),
            "{line} not in:\n{}",
            resolved.join("\n")
        );
    }
}
