//! Drives the real `terraform` CLI against the provider binary built for
//! this test run, through a `dev_overrides` CLI configuration (no
//! `terraform init`, no registry, no network).
//!
//! Every `TfDir` is its own temporary directory holding the CLI
//! configuration, the data directory and the working directory, so tests
//! run in parallel without sharing anything.
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The provider source address the tests configure.
pub const PROVIDER_SOURCE: &str = "vmaccess/vm";

/// The `terraform { required_providers { … } }` block every configuration needs.
pub const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    vm = {
      source = "vmaccess/vm"
    }
  }
}
"#;

/// How long one terraform command may take before the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The oldest Terraform the provider supports (write-only attributes).
pub const MINIMUM_TERRAFORM: TerraformVersion = TerraformVersion(1, 11, 0);

/// The terraform binary every test runs: `TF_ACC_TERRAFORM_PATH`, else
/// `terraform` on PATH. Panics with a clear message when there is none, or
/// when it is older than [`MINIMUM_TERRAFORM`]: acceptance tests never
/// silently skip.
pub fn terraform_binary() -> PathBuf {
    let binary = find_terraform_binary();
    require_terraform_at(&binary, MINIMUM_TERRAFORM, "the vm_access_reset resource");
    binary
}

fn find_terraform_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("TF_ACC_TERRAFORM_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "TF_ACC_TERRAFORM_PATH={} does not name a file; point it at a terraform binary (>= 1.11)",
            p.display()
        );
        return p;
    }
    terraform_on_path().unwrap_or_else(|| {
        panic!(
            "acceptance tests need the terraform CLI (>= 1.11), but `terraform` is not on PATH \
             and TF_ACC_TERRAFORM_PATH is not set. Install terraform or set TF_ACC_TERRAFORM_PATH."
        )
    })
}

/// The first `terraform` on `PATH`.
fn terraform_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("terraform"))
        .find(|p| p.is_file())
}

/// A Terraform older than `newer` (for tests of what an older Terraform wrote):
/// `TF_ACC_TERRAFORM_OLD_PATH`, else `terraform` on PATH (1.11.4 in CI). Fails the test, naming
/// `what` needs it, when there is none or it is not older.
pub fn older_terraform(newer: TerraformVersion, what: &str) -> PathBuf {
    let binary = std::env::var_os("TF_ACC_TERRAFORM_OLD_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(terraform_on_path)
        .unwrap_or_else(|| {
            panic!("{what} needs a Terraform older than {newer}: set TF_ACC_TERRAFORM_OLD_PATH")
        });
    let version = version_of(&binary);
    assert!(
        version < newer,
        "{what}: TF_ACC_TERRAFORM_OLD_PATH must be a Terraform older than {newer}, found {version}"
    );
    binary
}

/// A Terraform release, `major.minor.patch` (pre-release suffixes ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TerraformVersion(pub u32, pub u32, pub u32);

impl TerraformVersion {
    /// Parses `1.15.5`, `v1.15.5` or `1.16.0-alpha20260101`.
    pub fn parse(text: &str) -> Option<TerraformVersion> {
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        let version = TerraformVersion(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
}

impl std::fmt::Display for TerraformVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The version of the terraform binary the tests run (asked once per test
/// process, from `terraform version -json`).
pub fn terraform_version() -> TerraformVersion {
    static VERSION: std::sync::OnceLock<TerraformVersion> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| version_of(&find_terraform_binary()))
}

/// The version of any terraform binary, from `terraform version -json`.
pub fn version_of(binary: &Path) -> TerraformVersion {
    let out = Command::new(binary)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {} version: {e}", binary.display()));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`{} version -json` did not print JSON ({e}):\n{}{}",
            binary.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    json["terraform_version"]
        .as_str()
        .and_then(TerraformVersion::parse)
        .unwrap_or_else(|| {
            panic!(
                "`{} version -json` gave no terraform_version: {json}",
                binary.display()
            )
        })
}

/// Whether `actual` is at least `needed`; the refusal names both versions,
/// what needs the newer one and how to run the test with it.
pub fn check_terraform_version(
    actual: TerraformVersion,
    needed: TerraformVersion,
    feature: &str,
) -> Result<(), String> {
    if actual >= needed {
        return Ok(());
    }
    Err(format!(
        "this test needs Terraform >= {needed} ({feature}), but the terraform under test is {actual}. \
         Point TF_ACC_TERRAFORM_PATH at a newer terraform, for example the Terraform 1.15 that \
         `scripts/install-terraform-1.15.sh` installs (it prints its path); `scripts/test.sh` runs \
         the tests that need it under that one."
    ))
}

/// The first line of a test that needs a Terraform newer than 1.11 (for
/// example `require_terraform(TerraformVersion(1, 12, 0), "resource
/// identity")`): under an older terraform the test fails, loudly, naming the
/// version it needs. It never passes without having run.
pub fn require_terraform(needed: TerraformVersion, feature: &str) {
    require_terraform_at(&find_terraform_binary(), needed, feature);
}

fn require_terraform_at(binary: &Path, needed: TerraformVersion, feature: &str) {
    if let Err(refusal) = check_terraform_version(terraform_version(), needed, feature) {
        panic!("{refusal} (terraform: {})", binary.display());
    }
}

/// The directory holding the provider binary cargo built for this run.
pub fn provider_dir() -> PathBuf {
    crate::plugin::provider_binary()
        .parent()
        .expect("binary has a parent directory")
        .to_path_buf()
}

/// One test's terraform working directory.
pub struct TfDir {
    root: tempfile::TempDir,
    terraform: PathBuf,
    env: BTreeMap<String, String>,
}

impl Default for TfDir {
    fn default() -> Self {
        Self::new()
    }
}

impl TfDir {
    /// A fresh temp dir with its own CLI configuration overriding
    /// `vmaccess/vm` with the freshly built binary.
    pub fn new() -> TfDir {
        let terraform = terraform_binary();
        let root = tempfile::Builder::new()
            .prefix("tfacc-")
            .tempdir()
            .expect("create a temp dir");
        std::fs::create_dir_all(root.path().join("work")).expect("create the working dir");
        let cli_config = root.path().join("terraform.rc");
        let override_dir = provider_dir();
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = {}\n  }}\n  direct {{}}\n}}\n",
                hcl_string(&override_dir.to_string_lossy())
            ),
        )
        .expect("write the CLI configuration");
        let mut env = BTreeMap::new();
        env.insert(
            "TF_CLI_CONFIG_FILE".to_string(),
            cli_config.to_string_lossy().into_owned(),
        );
        env.insert(
            "TF_DATA_DIR".to_string(),
            root.path().join("data").to_string_lossy().into_owned(),
        );
        env.insert("TF_IN_AUTOMATION".to_string(), "1".to_string());
        env.insert("CHECKPOINT_DISABLE".to_string(), "1".to_string());
        TfDir {
            root,
            terraform,
            env,
        }
    }

    /// Runs later commands with another terraform binary (tests that move
    /// state between Terraform versions).
    pub fn use_terraform(&mut self, binary: PathBuf) -> &mut TfDir {
        self.terraform = binary;
        self
    }

    /// The working directory terraform runs in.
    pub fn work_dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// Writes a file relative to the working directory.
    pub fn write(&self, name: &str, contents: &str) -> &TfDir {
        let path = self.work_dir().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {name}: {e}"));
        self
    }

    /// Writes `main.tf` as the `required_providers` block followed by `body`;
    /// returns the full text (for line numbers).
    pub fn write_main(&self, body: &str) -> String {
        let text = format!("{REQUIRED_PROVIDERS}\n{body}");
        self.write("main.tf", &text);
        text
    }

    /// Sets an environment variable for every later command.
    pub fn set_env(&mut self, key: &str, value: &str) -> &mut TfDir {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// A terraform command with `args`, not yet run.
    pub fn cmd<I, S>(&self, args: I) -> TfCommand<'_>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        TfCommand {
            dir: self,
            args: args.into_iter().map(|a| a.as_ref().to_string()).collect(),
            env: BTreeMap::new(),
        }
    }

    /// Runs `terraform args…` and returns what happened.
    pub fn run(&self, args: &[&str]) -> TfOutput {
        self.cmd(args).run()
    }
}

/// A command being built.
pub struct TfCommand<'a> {
    dir: &'a TfDir,
    args: Vec<String>,
    env: BTreeMap<String, String>,
}

impl TfCommand<'_> {
    /// Sets an environment variable for this command only.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Runs the command to the end.
    pub fn run(self) -> TfOutput {
        let mut cmd = Command::new(&self.dir.terraform);
        cmd.args(&self.args)
            .current_dir(self.dir.work_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Nothing from the caller's environment may change what terraform
        // does: logging, plugin caches, reattached providers, extra args.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("TF_") || key.starts_with("ARM_") || key == "TERRAFORM_CONFIG" {
                cmd.env_remove(key.as_ref());
            }
        }
        cmd.envs(&self.dir.env).envs(&self.env);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", self.dir.terraform.display()));
        let mut out_pipe = child.stdout.take().unwrap();
        let mut err_pipe = child.stderr.take().unwrap();
        let out_thread = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out_pipe.read_to_end(&mut v);
            v
        });
        let err_thread = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err_pipe.read_to_end(&mut v);
            v
        });
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            if started.elapsed() > COMMAND_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "terraform {} did not finish within {COMMAND_TIMEOUT:?}",
                    self.args.join(" ")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        TfOutput {
            args: self.args,
            status,
            stdout: String::from_utf8_lossy(&out_thread.join().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&err_thread.join().unwrap()).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

/// What a terraform command did.
#[derive(Debug)]
pub struct TfOutput {
    /// The arguments after `terraform`.
    pub args: Vec<String>,
    /// How it exited.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl TfOutput {
    /// The exit code (none if killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics with the full output unless the command succeeded.
    pub fn assert_success(&self) -> &TfOutput {
        assert!(
            self.success(),
            "terraform {} failed:\n{self}",
            self.args.join(" ")
        );
        self
    }

    /// Panics with the full output unless the command failed.
    pub fn assert_failure(&self) -> &TfOutput {
        assert!(
            !self.success(),
            "terraform {} unexpectedly succeeded:\n{self}",
            self.args.join(" ")
        );
        self
    }

    /// stdout, then stderr.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// stdout and stderr with the diagnostic boxes' drawing removed and whitespace runs as one
    /// space: Terraform wraps diagnostics, and a wrapped detail matches as one line.
    pub fn flat(&self) -> String {
        let text = self.text();
        let unboxed: Vec<&str> = text
            .lines()
            .map(|l| l.trim_start_matches(['│', '╷', '╵', ' ']))
            .collect();
        unboxed
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Panics with the full output unless its [`flat`](Self::flat) text contains every phrase.
    pub fn assert_mentions(&self, phrases: &[&str]) -> &TfOutput {
        let flat = self.flat();
        for phrase in phrases {
            assert!(
                flat.contains(phrase),
                "expected {phrase:?} in terraform's output:\n{self}"
            );
        }
        self
    }

    /// stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// stdout parsed as JSON lines (`-json` streaming UI output).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("line is not JSON ({e}): {l}\n{self}"))
            })
            .collect()
    }
}

impl std::fmt::Display for TfOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }
}

/// An HCL string literal.
pub fn hcl_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The 1-based line of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> i64 {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as i64 + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{text}"))
}
