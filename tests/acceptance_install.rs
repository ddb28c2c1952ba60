//! Acceptance: installing the provider for real use. `scripts/install.sh`
//! puts the binary into a filesystem mirror, and an ordinary configuration
//! (`source = "vmaccess/vm"`, `version = "0.1.0"`, no dev_overrides, no
//! network) inits — writing a lock file — and plans against the emulator.
//! `scripts/package.sh` produces the Registry release files, and its zip is
//! itself installable from a packed mirror.
//!
//! Both scripts get `--binary` with the binary cargo built for this test
//! run, so no release build happens here (the scripts' default).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use vm_test_support::acceptance::{Acceptance, actions_of};
use vm_test_support::command::run_ok;
use vm_test_support::terraform::hcl_string;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const PROVIDER_BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-vm");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Terraform's platform name, as the scripts compute it.
fn target() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}_{arch}")
}

fn script(name: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    run_ok(
        Command::new("bash")
            .arg(root().join("scripts").join(name))
            .args(args)
            .envs(env.iter().copied()),
    )
}

/// The examples' provider and resource files, as a user would copy them,
/// pinned to the installed version.
fn write_config(acc: &Acceptance) {
    let provider = std::fs::read_to_string(root().join("examples/provider/provider.tf"))
        .unwrap()
        .replace("version = \"~> 0.1\"", &format!("version = \"{VERSION}\""));
    assert!(provider.contains(&format!("version = \"{VERSION}\"")));
    acc.tf.write("provider.tf", &provider);
    acc.tf.write(
        "resource.tf",
        &std::fs::read_to_string(root().join("examples/resources/vm_access_reset/resource.tf"))
            .unwrap(),
    );
}

/// `terraform init` from the mirror (offline), then a plan that creates.
/// Replaces the fixture's dev_overrides with the filesystem mirror at `mirror` alone (no
/// `direct {}`, so any attempt to reach a registry fails), then [`init_and_plan`].
async fn init_and_plan_from_mirror(acc: &mut Acceptance, mirror: &Path) {
    acc.tf.write(
        "../terraform.rc",
        &format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = {}\n  }}\n}}\n",
            hcl_string(&mirror.to_string_lossy())
        ),
    );
    init_and_plan(acc).await;
}

async fn init_and_plan(acc: &mut Acceptance) {
    let vm = acc.emu.seed_locked_out_vm("web01").await;
    write_config(acc);
    acc.tf
        .set_env("TF_VAR_virtual_machine_id", &vm.to_string())
        .set_env("TF_VAR_admin_password", "Install-Passw0rd!1");

    let init = acc.run(&["init", "-no-color", "-input=false"]);
    init.assert_success();
    assert!(
        init.stdout
            .contains(&format!("Installing vmaccess/vm v{VERSION}")),
        "{init}"
    );
    assert!(
        !init.stdout.contains("Provider development overrides"),
        "no dev_overrides in play: {init}"
    );
    let version = format!("version     = \"{VERSION}\"");
    acc.assert_lock_file("registry.terraform.io/vmaccess/vm", &[&version, "h1:"]);

    let plan = acc.plan_json(&[]);
    assert_eq!(actions_of(&plan, "vm_access_reset.example"), vec!["create"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_into_a_mirror_inits_offline_and_plans() {
    let mut acc = Acceptance::start().await;
    let mirror = tempfile::tempdir().unwrap();
    let out = script(
        "install.sh",
        &[
            "--mirror",
            &mirror.path().to_string_lossy(),
            "--binary",
            PROVIDER_BIN,
        ],
        &[],
    );
    let installed = mirror.path().join(format!(
        "registry.terraform.io/vmaccess/vm/{VERSION}/{}/terraform-provider-vm_v{VERSION}",
        target()
    ));
    assert!(
        installed.is_file(),
        "{} missing; install.sh said:\n{}",
        installed.display(),
        String::from_utf8_lossy(&out.stdout)
    );

    init_and_plan_from_mirror(&mut acc, mirror.path()).await;
}

/// With no --mirror and no CLI configuration at all: ~/.terraform.d/plugins
/// is one of Terraform's implied local mirrors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_install_needs_no_cli_configuration() {
    let mut acc = Acceptance::start().await;
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_string_lossy().into_owned();
    script(
        "install.sh",
        &["--binary", PROVIDER_BIN],
        &[("HOME", &home_str)],
    );
    assert!(
        home.path()
            .join(".terraform.d/plugins/registry.terraform.io/vmaccess/vm")
            .join(VERSION)
            .join(target())
            .join(format!("terraform-provider-vm_v{VERSION}"))
            .is_file()
    );
    // An empty CLI configuration: Terraform's defaults, with HOME pointing
    // at the temp home. The implied `direct` excludes providers found
    // locally, so this needs no network.
    acc.tf.write("../terraform.rc", "");
    acc.tf.set_env("HOME", &home_str);
    init_and_plan(&mut acc).await;
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The zip's entries as (name, unix mode, size).
fn zip_entries(path: &Path) -> Vec<(String, u32, u64)> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import zipfile,sys\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, i.external_attr >> 16, i.file_size)",
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.split(' ');
            (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().parse().unwrap(),
                parts.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_produces_registry_release_files_that_terraform_installs() {
    let dist = tempfile::tempdir().unwrap();
    script(
        "package.sh",
        &[
            "--out",
            &dist.path().to_string_lossy(),
            "--binary",
            PROVIDER_BIN,
        ],
        &[],
    );
    let zip_name = format!("terraform-provider-vm_{VERSION}_{}.zip", target());
    let sums_name = format!("terraform-provider-vm_{VERSION}_SHA256SUMS");
    let manifest_name = format!("terraform-provider-vm_{VERSION}_manifest.json");
    let mut names: Vec<String> = std::fs::read_dir(dist.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want = vec![
        zip_name.clone(),
        sums_name.clone(),
        manifest_name.clone(),
        "terraform-registry-manifest.json".to_string(),
    ];
    want.sort();
    assert_eq!(names, want);

    let zip: PathBuf = dist.path().join(&zip_name);
    let entries = zip_entries(&zip);
    let binary_len = std::fs::metadata(PROVIDER_BIN).unwrap().len();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].0, format!("terraform-provider-vm_v{VERSION}"));
    assert_eq!(entries[0].1 & 0o111, 0o111, "executable in the zip");
    assert_eq!(entries[0].2, binary_len);

    // SHA256SUMS in sha256sum format, matching the files.
    let sums = std::fs::read_to_string(dist.path().join(&sums_name)).unwrap();
    let lines: Vec<(&str, &str)> = sums
        .lines()
        .map(|l| l.split_once("  ").expect("`HASH  NAME` lines"))
        .collect();
    assert!(lines.iter().any(|(_, n)| *n == zip_name), "{sums}");
    for (hash, name) in &lines {
        assert_eq!(
            *hash,
            sha256_hex(&dist.path().join(name)),
            "SHA256SUMS entry for {name}"
        );
    }

    for manifest in ["terraform-registry-manifest.json", manifest_name.as_str()] {
        let text = std::fs::read_to_string(dist.path().join(manifest)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}})
        );
    }

    // The zip is what Terraform downloads: a packed mirror takes it as is.
    let mut acc = Acceptance::start().await;
    let mirror = tempfile::tempdir().unwrap();
    let packed = mirror.path().join("registry.terraform.io/vmaccess/vm");
    std::fs::create_dir_all(&packed).unwrap();
    std::fs::copy(&zip, packed.join(&zip_name)).unwrap();
    init_and_plan_from_mirror(&mut acc, mirror.path()).await;
}

#[test]
fn scripts_reject_unknown_arguments_and_explain_themselves() {
    for name in ["install.sh", "package.sh"] {
        let help = script(name, &["--help"], &[]);
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("--binary"), "{name} --help: {text}");
        let bad = Command::new("bash")
            .arg(root().join("scripts").join(name))
            .arg("--no-such-option")
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2), "{name} --no-such-option");
        assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown argument"));
    }
}
