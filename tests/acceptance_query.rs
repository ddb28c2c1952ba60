//! Acceptance: the `vm_access_reset` list resource through `terraform query` (Terraform 1.14+)
//! against the emulator seeded with a fleet — several resource groups of Windows and Linux VMs,
//! VMAccess extensions under both usual names and in both end states, other extensions beside
//! them — with ARM paging crossed by a small page size. Every test first checks the version of
//! the terraform it was given (`TF_ACC_TERRAFORM_PATH`) and fails, never skips, when it is older.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};
use vm_emulator::admin::{ExtensionSeed, FleetVm};
use vm_emulator::{OsType, ThrottleSettings};
use vm_test_support::acceptance::Acceptance;
use vm_test_support::fleet::{Fleet, seeded_fleet};
use vm_test_support::terraform::{TerraformVersion, TfOutput, require_terraform};

const PW: &str = "Adopted-Passw0rd!2026";

const PASSWORD_VARIABLE: &str = "variable \"admin_password\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n";

/// Every VMAccess VM, some filtered, the Windows VMs of one group, and the first three.
const FIND_QUERY: &str = r#"
list "vm_access_reset" "all" {
  provider = vm
}

list "vm_access_reset" "filtered" {
  provider = vm
  config {
    resource_group_names = ["RG-01"]
    name_filters         = ["VM-00?", "nomatch-*"]
  }
}

list "vm_access_reset" "windows" {
  provider = vm
  config {
    resource_group_names          = ["rg-02"]
    include_vms_without_extension = true
    os_type                       = "Windows"
  }
}

list "vm_access_reset" "first" {
  provider = vm
  limit    = 3
}
"#;

/// Every Windows VM, those without the extension included, for `-generate-config-out`. (A Linux
/// VM without one would need the configuration to say what to reset before it plans: the
/// Linux tests cover that.)
const ADOPT_QUERY: &str = r#"
list "vm_access_reset" "fleet" {
  provider = vm
  config {
    os_type                       = "Windows"
    include_vms_without_extension = true
  }
}
"#;

/// A subscription the credentials cannot read.
const OTHER_SUBSCRIPTION_QUERY: &str = r#"
list "vm_access_reset" "other" {
  provider = vm
  config {
    subscription_id = "11111111-1111-1111-1111-111111111111"
  }
}
"#;

/// An emulator with `fleet(groups, per_group)` listed `page_size` VMs a page, and an empty root
/// module.
async fn setup(groups: usize, per_group: usize, page_size: usize) -> (Acceptance, Fleet) {
    require_terraform(TerraformVersion(1, 14, 0), "terraform query");
    let acc = Acceptance::start().await;
    let fleet = seeded_fleet(&acc.emu, groups, per_group, page_size).await;
    acc.tf.write_main("");
    (acc, fleet)
}

/// One result of `terraform query -json`.
#[derive(Debug, Clone)]
struct Found {
    resource_group: String,
    vm: String,
    extension_name: Value,
    display_name: String,
}

/// The results of each `list` block, by its address, in stream order.
fn results(out: &TfOutput) -> BTreeMap<String, Vec<Found>> {
    let mut by_list: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for message in out.json_lines() {
        if message["type"] != "list_resource_found" {
            continue;
        }
        let found = &message["list_resource_found"];
        let identity = &found["identity"];
        by_list
            .entry(found["address"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(Found {
                resource_group: identity["resource_group_name"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                vm: identity["virtual_machine_name"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                extension_name: identity["extension_name"].clone(),
                display_name: found["display_name"].as_str().unwrap_or_default().into(),
            });
    }
    by_list
}

fn vms(found: &[Found]) -> Vec<(String, String)> {
    found
        .iter()
        .map(|f| (f.resource_group.clone(), f.vm.clone()))
        .collect()
}

/// Writes `hcl` as the root module's query file and runs `terraform query` with `extra`.
fn query(acc: &Acceptance, hcl: &str, extra: &[&str]) -> TfOutput {
    acc.tf.write("query.tfquery.hcl", hcl);
    let mut args = vec!["query", "-no-color"];
    args.extend_from_slice(extra);
    acc.run(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_lists_exactly_the_vmaccess_vms_across_pages_with_filters_and_limit() {
    let (acc, fleet) = setup(3, 12, 5).await;
    let out = query(&acc, FIND_QUERY, &["-json"]);
    out.assert_success();
    let found = results(&out);

    // Every VM with a VMAccess extension, under either name and in either state; no Linux VM
    // (some carry the Linux VMAccess extension) and no VM with only other extensions.
    let all = &found["list.vm_access_reset.all"];
    assert_eq!(vms(all), fleet.with_vmaccess, "{out}");
    let pages = acc.emu.requests_ending_with("/virtualMachines").await.len();
    assert!(
        pages >= 36_usize.div_ceil(5),
        "36 VMs at 5 a page take 8 pages; saw {pages} list requests"
    );
    assert!(
        all.iter()
            .any(|f| f.extension_name == "enablevmaccess" && f.display_name.contains("(Failed)")),
        "Failed extensions are listed too: {all:?}"
    );
    let first = all.first().expect("results");
    assert_eq!(
        first.display_name, "rg-00/vm-000: VMAccessAgent (Succeeded), last reset ops",
        "the display name says where, what and who"
    );

    let expected: Vec<(String, String)> = fleet
        .with_vmaccess
        .iter()
        .filter(|(rg, vm)| rg == "rg-01" && vm.len() == 6 && vm.starts_with("vm-00"))
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        vms(&found["list.vm_access_reset.filtered"]),
        expected,
        "{out}"
    );

    // Every Windows VM of rg-02; those without the extension have a null extension_name.
    let windows = &found["list.vm_access_reset.windows"];
    let expected_windows: Vec<String> = (0..12)
        .filter(|v| v % 4 != 3)
        .map(|v| format!("vm-{v:03}"))
        .collect();
    assert_eq!(
        windows.iter().map(|f| f.vm.clone()).collect::<Vec<_>>(),
        expected_windows
    );
    let bare: Vec<&Found> = windows
        .iter()
        .filter(|f| f.extension_name.is_null())
        .collect();
    assert_eq!(bare.len(), 3, "{windows:?}");
    assert!(
        bare.iter()
            .all(|f| f.display_name.ends_with("no VMAccess extension"))
    );

    assert_eq!(
        vms(&found["list.vm_access_reset.first"]),
        fleet.with_vmaccess[..3]
    );
}

/// `-generate-config-out`, a password variable supplied where a user was reset, one apply:
/// everything imported; Remote Desktop–only extensions that succeeded are left alone, the others
/// run once as documented; the next plan is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_configuration_imports_all_in_one_apply_then_plans_nothing() {
    // rg-00: vm-000/006/009 VMAccessAgent for `ops`; vm-001/004 enablevmaccess RDP-only
    // Succeeded; vm-010 enablevmaccess Failed; vm-002/005/008 no extension; vm-003/007 Linux.
    let (acc, _) = setup(1, 11, 4).await;
    let out = query(&acc, ADOPT_QUERY, &["-generate-config-out=generated.tf"]);
    out.assert_success();
    let generated = std::fs::read_to_string(acc.tf.work_dir().join("generated.tf"))
        .unwrap_or_else(|e| panic!("no generated.tf ({e}):\n{out}"));
    eprintln!("--- generated.tf:\n{generated}");
    assert_eq!(generated.matches("import {").count(), 9, "{generated}");
    assert!(!generated.contains(PW));

    // What the docs tell the user to do: give each block that resets a user the password.
    let edited = supply_password(&generated);
    acc.tf.write("generated.tf", &edited);
    acc.tf.write("variables.tf", PASSWORD_VARIABLE);
    let apply = acc.run_with_env(
        &["apply", "-auto-approve", "-no-color", "-input=false"],
        &[("TF_VAR_admin_password", PW)],
    );
    apply.assert_success();
    eprintln!("--- apply:\n{}", apply.stdout);
    assert!(
        apply.stdout.contains("9 imported"),
        "one apply imports every result:\n{apply}"
    );
    // Terraform wraps diagnostics: compare with single spaces.
    let said = apply.flat();
    for (vm, why) in [
        ("vm-010", "not Succeeded"),
        ("vm-002", "no VMAccess extension yet"),
    ] {
        assert!(
            said.contains(&format!("will rerun the VMAccess extension on VM \"{vm}\""))
                && said.contains(why),
            "the plan says why {vm} runs:\n{apply}"
        );
    }

    let emu = &acc.emu;
    let puts = |vm: &str| {
        let fragment = format!("/virtualMachines/{vm}/extensions/");
        async move { emu.count_requests("PUT", &fragment).await }
    };
    for untouched in ["vm-001", "vm-004"] {
        assert_eq!(
            puts(untouched).await,
            0,
            "{untouched} is RDP-only and Succeeded: no change\n{apply}"
        );
    }
    for rerun in [
        "vm-000", "vm-006", "vm-009", "vm-010", "vm-002", "vm-005", "vm-008",
    ] {
        assert_eq!(puts(rerun).await, 1, "{rerun} runs once\n{apply}");
    }
    let vm0 = terraform_provider_vm::azure::VirtualMachineId::new(
        acc.emu.subscription_id().to_string(),
        "rg-00".to_string(),
        "vm-000".to_string(),
    );
    assert!(
        acc.emu.login(&vm0, "ops", PW).await,
        "the supplied password is in effect"
    );

    let plan = acc.run_with_env(
        &["plan", "-detailed-exitcode", "-no-color", "-input=false"],
        &[("TF_VAR_admin_password", PW)],
    );
    assert_eq!(
        plan.code(),
        Some(0),
        "the plan after the import apply is empty:\n{plan}"
    );
    assert!(!acc.state_file().contains(PW), "no password in state");
}

/// Sets `password_wo = var.admin_password` and `password_wo_version = 1` in the generated blocks
/// that name a `username`, as the docs describe; other blocks stay exactly as generated.
fn supply_password(generated: &str) -> String {
    let mut out = String::new();
    for block in generated.split_inclusive("\n}\n") {
        let resets_user = block.contains("resource \"vm_access_reset\"")
            && block.lines().any(|l| {
                let l = l.trim();
                l.starts_with("username") && !l.ends_with("null")
            });
        if resets_user {
            out.push_str(
                &block
                    .lines()
                    .map(|l| match l.trim_start() {
                        t if t.starts_with("password_wo ") || t.starts_with("password_wo=") => {
                            "  password_wo = var.admin_password".to_string()
                        }
                        t if t.starts_with("password_wo_version") => {
                            "  password_wo_version = 1".to_string()
                        }
                        _ => l.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            out.push('\n');
        } else {
            out.push_str(block);
        }
    }
    out
}

/// 1,000 VMs in 10 resource groups under ARM's and Compute's read budgets: every VMAccess VM is
/// listed and no 429 reaches the user. Prints the wall time and ARM request count (not asserted:
/// figures belong to `scripts/bench-listing.sh`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_vms_list_without_a_429_reaching_the_user() {
    let (acc, fleet) = setup(10, 100, 50).await;
    acc.emu.throttle(ThrottleSettings::default()).await;
    let started = Instant::now();
    let out = query(
        &acc,
        "list \"vm_access_reset\" \"fleet\" {\n  provider = vm\n  limit    = 1000\n}\n",
        &["-json"],
    );
    let wall = started.elapsed();
    out.assert_success();
    let found = results(&out);
    assert_eq!(
        vms(&found["list.vm_access_reset.fleet"]),
        fleet.with_vmaccess
    );
    let requests = acc.emu.requests().await;
    let arm = requests
        .iter()
        .filter(|r| r.path.starts_with("/subscriptions/"))
        .count();
    let throttled = requests.iter().filter(|r| r.status == Some(429)).count();
    eprintln!(
        "terraform query over 1,000 VMs in 10 resource groups: {} results in {:.1} s, {arm} ARM requests, {throttled} answered 429 and retried",
        fleet.with_vmaccess.len(),
        wall.as_secs_f64()
    );
}

/// The documented example `.tfquery.hcl`, as shipped, against VMs it should and should not find.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_query_finds_what_it_says() {
    require_terraform(TerraformVersion(1, 14, 0), "terraform query");
    let acc = Acceptance::start().await;
    let vm = |rg: &str, name: &str, os_type: OsType, vmaccess: bool| {
        let portal_reset = ExtensionSeed {
            settings: Some(json!({"UserName": "opsadmin"})),
            ..ExtensionSeed::default()
        };
        let mut fleet_vm = FleetVm::new(rg, name, os_type);
        if vmaccess {
            fleet_vm
                .extensions
                .insert("enablevmaccess".to_string(), portal_reset);
        }
        fleet_vm
    };
    let body = vm_emulator::admin::Fleet {
        vms: vec![
            vm("rg-web-prod", "web-01", OsType::Windows, true),
            vm("rg-web-prod", "web-02", OsType::Windows, false),
            vm("rg-web-prod", "sql-01", OsType::Windows, true),
            vm("rg-web-test", "WEB-03", OsType::Windows, true),
            vm("rg-web-test", "web-04", OsType::Linux, true),
            vm("rg-other", "web-05", OsType::Windows, true),
        ],
    };
    acc.emu.seed_fleet(&body).await;
    acc.tf.write_main("");
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/list-resources/vm_access_reset/list.tfquery.hcl"),
    )
    .expect("the example");
    let out = query(&acc, &example, &["-json"]);
    out.assert_success();
    let found = results(&out);
    let names = |list: &str| -> Vec<String> {
        found
            .get(list)
            .map(|f| f.iter().map(|f| f.vm.clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        names("list.vm_access_reset.web"),
        ["web-01", "WEB-03"],
        "{out}"
    );
    assert_eq!(
        names("list.vm_access_reset.all_windows"),
        ["web-05", "sql-01", "web-01", "web-02", "WEB-03"],
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_subscription_is_a_clear_error_not_an_empty_list() {
    let (acc, _) = setup(1, 4, 5).await;
    let out = query(&acc, OTHER_SUBSCRIPTION_QUERY, &[]);
    out.assert_failure();
    let text = format!("{}{}", out.stdout, out.stderr);
    eprintln!("--- query over an unreadable subscription:\n{}", out.stderr);
    assert!(
        text.contains("Cannot list the virtual machines of subscription")
            && text.contains("11111111-1111-1111-1111-111111111111")
            && text.contains("Reader"),
        "{out}"
    );
    assert!(!text.contains("returned 0 results"), "{out}");

    // A bad filter is named before anything is read.
    let out = query(
        &acc,
        "list \"vm_access_reset\" \"bad\" {\n  provider = vm\n  config {\n    resource_group_names = [\"rg/oops\"]\n  }\n}\n",
        &[],
    );
    out.assert_failure();
    assert!(
        out.stderr
            .contains("Invalid `resource_group_names` element")
            && out.stderr.contains("rg/oops"),
        "{out}"
    );
}

/// Terraform stops reading at `limit`; the provider stops too, without reading the rest of the
/// fleet's extensions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_limit_reads_little() {
    let (acc, fleet) = setup(3, 12, 5).await;
    let out = query(
        &acc,
        "list \"vm_access_reset\" \"two\" {\n  provider = vm\n  limit    = 2\n}\n",
        &["-json"],
    );
    out.assert_success();
    assert_eq!(
        vms(&results(&out)["list.vm_access_reset.two"]),
        fleet.with_vmaccess[..2]
    );
    let read = acc.emu.count_requests("GET", "/extensions").await;
    assert!(
        read <= 4,
        "2 results of {} Windows VMs read {read} extension lists",
        fleet.windows
    );
}
