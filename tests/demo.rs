//! `scripts/demo.sh` — the README's first command — runs to the end under
//! `cargo test`, so CI notices when the demo breaks. The demo checks every
//! step itself and exits non-zero on the first surprise; this test checks
//! that it got to the end, showed each step, and cleaned up after itself
//! (emulator stopped, temp dir removed).

use std::path::{Path, PathBuf};
use std::process::Command;

use vm_test_support::terraform;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The emulator binary next to this run's provider binary, built (or found
/// up to date) by cargo. The root crate's tests do not build other
/// packages' binaries, so ask cargo; its lock makes this safe while other
/// tests run.
fn emulator_binary(provider: &Path) -> PathBuf {
    let profile_dir = provider.parent().expect("provider binary has a directory");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--locked",
            "-p",
            "vm-emulator",
            "--bin",
            "vm-emulator",
        ])
        .current_dir(root());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    if let Some(target_dir) = profile_dir.parent() {
        build.arg("--target-dir").arg(target_dir);
    }
    let out = build.output().expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p vm-emulator failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let emulator = profile_dir.join(format!("vm-emulator{}", std::env::consts::EXE_SUFFIX));
    assert!(emulator.is_file(), "{} was not built", emulator.display());
    emulator
}

#[test]
fn demo_runs_every_step_and_cleans_up() {
    let provider = Path::new(env!("CARGO_BIN_EXE_terraform-provider-vm"));
    let emulator = emulator_binary(provider);
    let tmp = tempfile::tempdir().expect("temp dir");

    let out = Command::new("bash")
        .arg(root().join("scripts/demo.sh"))
        .env("DEMO_PROVIDER_BIN", provider)
        .env("DEMO_EMULATOR_BIN", &emulator)
        .env("DEMO_TERRAFORM_BIN", terraform::terraform_binary())
        .env("TMPDIR", tmp.path())
        .env_remove("DEMO_KEEP")
        .output()
        .expect("run scripts/demo.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo.sh failed ({:?}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status.code()
    );

    let steps = [
        "==> Step 1: Build the provider and the Azure emulator",
        "==> Step 2: Start the Azure emulator",
        "==> Step 3: Seed a locked-out Windows VM",
        "==> Step 4: terraform apply: reset the password",
        "==> Step 5: Look at the VM again",
        "==> Step 6: terraform plan -detailed-exitcode: nothing to do (exit 0)",
        "==> Step 7: Rotate",
        "==> Step 8: Something goes wrong outside Terraform",
        "==> Step 9: terraform destroy",
        "==> Step 10: A Linux VM whose user lost their SSH key",
        "==> Step 11: A scale set whose image password leaked",
        "==> Demo complete",
    ];
    let mut from = 0;
    for step in steps {
        let at = stdout[from..]
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} missing or out of order in:\n{stdout}"));
        from += at + step.len();
    }
    // The story's evidence, not just its headings.
    for evidence in [
        "login as opsadmin: refused (the account is disabled)",
        "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.",
        "login as opsadmin: OK",
        "No changes.",
        "~ update in-place",
        "Warning: vm_access_reset will rerun the VMAccess extension on VM \"web01\"",
        "Destroy complete! Resources: 1 destroyed.",
        "ssh login as opsadmin with key ops@new-laptop: refused",
        "ssh login as opsadmin with key ops@new-laptop: OK",
        "ssh login as opsadmin with key lost@laptop: refused",
        "state checked: os_type = \"Linux\"",
    ] {
        assert!(
            stdout.contains(evidence),
            "{evidence:?} missing in:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("Fresh-Passw0rd!2026") && !stdout.contains("Rotated-Passw0rd!2027"),
        "the demo's output shows a password"
    );

    // Cleaned up: the emulator is gone and the temp dir is empty.
    let pid = stdout
        .split("(pid ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse::<i32>().ok())
        .expect("the demo prints the emulator's pid");
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "the emulator (pid {pid}) is still running");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} in TMPDIR");
}
