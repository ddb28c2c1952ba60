//! The acceptance fixture: one emulator and one terraform working directory
//! per test, wired as a pipeline would be — environment-only authentication
//! (`ARM_*`), the emulator as a custom cloud (`ARM_METADATA_HOSTNAME`), and
//! its CA trusted through `SSL_CERT_FILE`. Terraform runs the provider binary
//! built for this test run through `dev_overrides`.

use serde_json::Value;
use terraform_provider_vm::azure::VirtualMachineId;

use crate::azure_emulator::AzureEmulator;
use crate::terraform::{TfDir, TfOutput, hcl_string};

/// One test's emulator and terraform working directory, wired together.
pub struct Acceptance {
    /// The emulator the provider talks to.
    pub emu: AzureEmulator,
    /// The working directory, with the `ARM_*` environment set.
    pub tf: TfDir,
}

impl Acceptance {
    /// Needs a multi-threaded runtime: terraform runs block one worker
    /// while the emulator serves on another.
    pub async fn start() -> Acceptance {
        Acceptance::with_emulator(AzureEmulator::start().await)
    }

    /// The fixture around an emulator the test started itself.
    pub fn with_emulator(emu: AzureEmulator) -> Acceptance {
        let mut tf = TfDir::new();
        let ca = tf.work_dir().join("..").join("emulator-ca.pem");
        std::fs::write(&ca, emu.emulator.ca_pem()).expect("write the emulator CA");
        let config = emu.emulator.config().clone();
        tf.set_env("SSL_CERT_FILE", &ca.to_string_lossy())
            .set_env("ARM_METADATA_HOSTNAME", &emu.emulator.metadata_host())
            .set_env("ARM_TENANT_ID", &config.tenant_id)
            .set_env("ARM_CLIENT_ID", &config.client_id)
            .set_env("ARM_CLIENT_SECRET", &config.client_secret)
            .set_env("ARM_SUBSCRIPTION_ID", &config.subscription_id);
        Acceptance { emu, tf }
    }

    /// Runs terraform without stalling the emulator's runtime.
    pub fn run(&self, args: &[&str]) -> TfOutput {
        tokio::task::block_in_place(|| self.tf.run(args))
    }

    /// [`Self::run`] with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> TfOutput {
        tokio::task::block_in_place(|| {
            env.iter()
                .fold(self.tf.cmd(args), |cmd, (k, v)| cmd.env(k, v))
                .run()
        })
    }

    /// `terraform apply -invoke=action.vm_access_reset.NAME -auto-approve` with extra `env`
    /// (Terraform 1.14 or later); its progress is in [`progress_lines`].
    pub fn invoke(&self, name: &str, env: &[(&str, &str)]) -> TfOutput {
        self.invoke_action("vm_access_reset", name, env)
    }

    /// `terraform apply -invoke=action.ACTION_TYPE.NAME -auto-approve` with extra `env`.
    pub fn invoke_action(&self, action_type: &str, name: &str, env: &[(&str, &str)]) -> TfOutput {
        let target = format!("-invoke=action.{action_type}.{name}");
        self.run_with_env(
            &[
                "apply",
                &target,
                "-auto-approve",
                "-no-color",
                "-input=false",
            ],
            env,
        )
    }

    /// `terraform apply -auto-approve`; panics unless it succeeds.
    pub fn apply(&self) -> TfOutput {
        let out = self.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        out.assert_success();
        out
    }

    /// Applies, then [`Self::assert_settled`].
    pub async fn apply_and_settle(&self, vm: &VirtualMachineId, username: &str, password: &str) {
        self.apply();
        self.assert_settled(vm, username, password).await;
    }

    /// The guest of `vm` accepts `username`/`password`, and the next plan has nothing to do.
    pub async fn assert_settled(&self, vm: &VirtualMachineId, username: &str, password: &str) {
        assert!(
            self.emu.login(vm, username, password).await,
            "{username}'s password does not work after the apply"
        );
        assert_eq!(self.plan_exit_code(&[]), 0, "not settled after the apply");
    }

    /// `plan -detailed-exitcode`: 0 = no changes, 2 = changes.
    pub fn plan_exit_code(&self, extra: &[&str]) -> i32 {
        let mut args = vec!["plan", "-detailed-exitcode", "-no-color", "-input=false"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        match out.code() {
            Some(code @ (0 | 2)) => code,
            _ => panic!("plan failed:\n{out}"),
        }
    }

    /// Saves a plan and returns `terraform show -json` of it.
    pub fn plan_json(&self, extra: &[&str]) -> Value {
        let mut args = vec!["plan", "-out=tfplan", "-no-color", "-input=false"];
        args.extend_from_slice(extra);
        self.run(&args).assert_success();
        self.run(&["show", "-json", "tfplan"]).json()
    }

    /// The planned actions of `address` (for example `["update"]`).
    pub fn planned_actions(&self, address: &str) -> Vec<String> {
        actions_of(&self.plan_json(&[]), address)
    }

    /// The resource's attributes in state, from `terraform show -json`.
    pub fn state_values(&self, address: &str) -> Value {
        let state = self.run(&["show", "-json"]).json();
        let resources = state["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        resources
            .into_iter()
            .find(|r| r["address"] == address)
            .map(|r| r["values"].clone())
            .unwrap_or(Value::Null)
    }

    /// The dependency lock file `init` wrote, after checking it names the provider `source` and
    /// holds every one of `phrases` (hashes, the version).
    pub fn assert_lock_file(&self, source: &str, phrases: &[&str]) -> String {
        let lock = std::fs::read_to_string(self.lock_file_path())
            .unwrap_or_else(|e| panic!("init wrote no lock file: {e}"));
        let provider = format!("provider \"{source}\"");
        for phrase in std::iter::once(provider.as_str()).chain(phrases.iter().copied()) {
            assert!(
                lock.contains(phrase),
                "{phrase:?} not in the lock file:\n{lock}"
            );
        }
        lock
    }

    /// Panics if `init` wrote a dependency lock file.
    pub fn assert_no_lock_file(&self) {
        let path = self.lock_file_path();
        assert!(!path.exists(), "{} exists", path.display());
    }

    fn lock_file_path(&self) -> std::path::PathBuf {
        self.tf.work_dir().join(".terraform.lock.hcl")
    }

    /// The text of `terraform.tfstate` (empty when there is none).
    pub fn state_file(&self) -> String {
        std::fs::read_to_string(self.tf.work_dir().join("terraform.tfstate")).unwrap_or_default()
    }
}

/// The planned actions (`create`, `update`, …) of `address` in a JSON plan; none if absent.
pub fn actions_of(plan: &Value, address: &str) -> Vec<String> {
    plan["resource_changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["address"] == address))
        .and_then(|c| c["change"]["actions"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A `vm_access_reset` block for `vm`, with extra attribute lines.
pub fn reset_block(name: &str, vm: &VirtualMachineId, lines: &[&str]) -> String {
    format!(
        "resource \"vm_access_reset\" \"{name}\" {{\n  virtual_machine_id = \"{vm}\"\n{}\n}}\n",
        lines
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// `ssh_public_keys = [ … ]` on one line.
pub fn ssh_public_keys_line(keys: &[&str]) -> String {
    let keys: Vec<String> = keys.iter().map(|k| hcl_string(k)).collect();
    format!("ssh_public_keys = [{}]", keys.join(", "))
}

/// An `action "vm_access_reset" NAME` block for `vm` with extra `config` lines.
pub fn action_block(name: &str, vm: &VirtualMachineId, lines: &[&str]) -> String {
    let body: String = lines.iter().map(|l| format!("    {l}\n")).collect();
    format!(
        "action \"vm_access_reset\" \"{name}\" {{\n  config {{\n    virtual_machine_id = \"{vm}\"\n{body}  }}\n}}\n"
    )
}

/// The action's progress messages in `out` ([`Acceptance::invoke`]), in order. Terraform
/// prints each as `Action action.vm_access_reset.NAME (triggered by …): message`.
pub fn progress_lines(out: &TfOutput) -> Vec<String> {
    action_progress_lines(&out.stdout, "vm_access_reset")
}

/// [`progress_lines`] of an action of type `action_type`, from terraform's standard output.
pub fn action_progress_lines(stdout: &str, action_type: &str) -> Vec<String> {
    let prefix = format!("Action action.{action_type}.");
    stdout
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.split_once("): ").map(|(_, message)| message.to_string()))
        .collect()
}
