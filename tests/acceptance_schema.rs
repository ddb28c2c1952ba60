//! Acceptance: the real `terraform` CLI loads the provider binary built for
//! this run through `dev_overrides` and sees its schema and validation.
//! Nothing here configures Azure or touches the network. Without terraform
//! these tests fail (see `vm_test_support::terraform::terraform_binary`).

use serde_json::Value as Json;
use vm_test_support::terraform::{
    MINIMUM_TERRAFORM, TerraformVersion, TfDir, TfOutput, hcl_string, line_of, require_terraform,
    terraform_binary, terraform_version,
};

const VM_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web";
const ADDRESS: &str = "registry.terraform.io/vmaccess/vm";

/// A resource block with the given attribute lines (already indented).
fn resource(lines: &[String]) -> String {
    format!(
        "resource \"vm_access_reset\" \"web\" {{\n  virtual_machine_id = \"{VM_ID}\"\n{}\n}}\n",
        lines.join("\n")
    )
}

fn line(attr: &str, value: &str) -> String {
    format!("  {attr} = {value}")
}

/// `username` with a write-only password (version 1), then `more` lines.
fn write_only(username: &str, password: &str, more: &[String]) -> Vec<String> {
    let mut lines = vec![
        line("username", &hcl_string(username)),
        line("password_wo", &hcl_string(password)),
        line("password_wo_version", "1"),
    ];
    lines.extend_from_slice(more);
    lines
}

/// A fresh terraform directory whose `main.tf` is `config`; returns it and the file's text.
fn dir_with(config: &str) -> (TfDir, String) {
    let dir = TfDir::new();
    let main = dir.write_main(config);
    (dir, main)
}

fn diagnostics(out: &TfOutput) -> Vec<Json> {
    out.json()["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no diagnostics array:\n{out}"))
}

fn errors(out: &TfOutput) -> Vec<Json> {
    diagnostics(out)
        .into_iter()
        .filter(|d| d["severity"] == "error")
        .collect()
}

/// `terraform validate -json` of `config` fails (exit code 1) with exactly one error, with
/// `summary`, on the line holding `needle`; returns its output.
fn validate_fails_on_line(config: &str, needle: &str, summary: &str) -> TfOutput {
    let (dir, main) = dir_with(config);
    let out = dir.run(&["validate", "-json"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert_one_error_on_line(&out, &main, needle, summary);
    out
}

/// `terraform validate -json` must report exactly one error, with
/// `summary`, on the line of `main.tf` holding `needle`.
fn assert_one_error_on_line(out: &TfOutput, main_tf: &str, needle: &str, summary: &str) {
    assert_eq!(out.json()["valid"], false, "{out}");
    let errs = errors(out);
    assert_eq!(errs.len(), 1, "expected one error:\n{out}");
    let e = &errs[0];
    assert_eq!(e["summary"], summary, "{out}");
    assert_eq!(e["address"], "vm_access_reset.web", "{out}");
    assert_eq!(e["range"]["filename"], "main.tf", "{out}");
    let want = line_of(main_tf, needle);
    assert_eq!(
        e["range"]["start"]["line"].as_i64(),
        Some(want),
        "error not on the line of {needle:?} (line {want}):\n{out}"
    );
    let code = e["snippet"]["code"].as_str().unwrap_or_default();
    assert!(code.contains(needle), "snippet {code:?} lacks {needle:?}");
}

#[test]
fn validate_accepts_a_good_config() {
    let (dir, _) = dir_with(&resource(&write_only(
        "opsadmin",
        "Correct-Horse-42",
        &[
            line("triggers", "{ rotation = \"2026-q1\" }"),
            "  timeouts {\n    create = \"45m\"\n  }".to_string(),
        ],
    )));
    let out = dir.run(&["validate", "-json", "-no-color"]);
    out.assert_success();
    let json = out.json();
    assert_eq!(json["valid"], true, "{out}");
    assert_eq!(json["error_count"], 0, "{out}");
    // The only warning is terraform's own dev_overrides notice.
    for d in diagnostics(&out) {
        assert_eq!(
            d["summary"], "Provider development overrides are in effect",
            "{out}"
        );
    }

    // A Remote Desktop reset needs no user at all.
    let (dir, _) = dir_with(&resource(&[]));
    let out = dir.run(&["validate", "-json"]);
    out.assert_success();
    assert_eq!(out.json()["valid"], true, "{out}");
}

#[test]
fn providers_schema_shows_the_resource() {
    let dir = TfDir::new();
    dir.write_main("");
    let out = dir.run(&["providers", "schema", "-json"]);
    out.assert_success();
    let json = out.json();
    let provider = &json["provider_schemas"][ADDRESS];
    assert!(provider.is_object(), "no schema for {ADDRESS}:\n{out}");

    let settings = &provider["provider"]["block"]["attributes"];
    for name in [
        "subscription_id",
        "tenant_id",
        "client_id",
        "client_secret",
        "use_cli",
        "use_msi",
        "use_oidc",
        "environment",
        "metadata_host",
    ] {
        assert_eq!(settings[name]["optional"], true, "provider {name}:\n{out}");
    }
    assert_eq!(settings["client_secret"]["sensitive"], true);
    assert_eq!(settings["use_cli"]["type"], "bool");

    let block = &provider["resource_schemas"]["vm_access_reset"]["block"];
    let attrs = &block["attributes"];
    assert_eq!(
        attrs["password_wo"]["write_only"], true,
        "{}",
        attrs["password_wo"]
    );
    assert_eq!(attrs["password_wo"]["optional"], true);
    assert!(
        attrs["password_wo"]["sensitive"].is_null() || attrs["password_wo"]["sensitive"] == false
    );
    assert_eq!(
        attrs["password"]["sensitive"], true,
        "{}",
        attrs["password"]
    );
    assert!(
        attrs["password"]["write_only"].is_null(),
        "{}",
        attrs["password"]
    );
    assert_eq!(attrs["virtual_machine_id"]["required"], true);
    assert_eq!(attrs["virtual_machine_id"]["type"], "string");
    assert_eq!(
        attrs["triggers"]["type"],
        serde_json::json!(["map", "string"])
    );
    assert_eq!(attrs["password_wo_version"]["type"], "number");
    for name in [
        "id",
        "force_update_tag",
        "provisioning_state",
        "last_run_at",
    ] {
        assert_eq!(attrs[name]["computed"], true, "{name}");
        assert!(attrs[name]["optional"].is_null(), "{name} is optional");
    }
    let mut names: Vec<&str> = attrs
        .as_object()
        .expect("attributes")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "auto_upgrade_minor_version",
            "expiration",
            "extension_name",
            "force_update_tag",
            "id",
            "last_run_at",
            "os_type",
            "password",
            "password_wo",
            "password_wo_version",
            "provisioning_state",
            "remove_extension_on_destroy",
            "remove_prior_keys",
            "reset_ssh",
            "ssh_public_keys",
            "triggers",
            "type_handler_version",
            "username",
            "virtual_machine_id",
        ]
    );
    let timeouts = &block["block_types"]["timeouts"];
    assert_eq!(timeouts["nesting_mode"], "single", "{timeouts}");
    for op in ["create", "read", "update", "delete"] {
        assert_eq!(
            timeouts["block"]["attributes"][op]["optional"], true,
            "{op}"
        );
    }
}

#[test]
fn validate_reports_a_bad_username_on_its_line() {
    let config = resource(&write_only("ops@admin", "Correct-Horse-42", &[]));
    validate_fails_on_line(&config, "username", "Invalid user name");
}

#[test]
fn validate_reports_a_weak_password_on_its_line() {
    // `validate` does not know the VM's OS: a password neither Windows (8+) nor Linux (6+)
    // accepts fails here; one only Windows refuses fails at plan, once the OS is read.
    let config = resource(&[
        line("username", "\"opsadmin\""),
        line("password", "\"Sh0r!\""),
    ]);
    let out = validate_fails_on_line(&config, "password", "Password does not meet Azure's rules");
    // The snippet quotes the configuration line; the provider's text must not.
    for e in errors(&out) {
        let detail = e["detail"].as_str().unwrap_or_default();
        assert!(!detail.contains("Sh0r!"), "password in {detail:?}");
    }

    // The same for the write-only attribute.
    let config = resource(&write_only("opsadmin", "alllowercase1", &[]));
    validate_fails_on_line(
        &config,
        "password_wo",
        "Password does not meet Azure's rules",
    );
}

#[test]
fn validate_reports_handler_version_0_9_on_its_line() {
    // 1.5 is VMAccessForLinux's and 2.4 VMAccessAgent's: only a version of neither fails before
    // the VM's OS is known (the lifecycle tests show 1.5 refused at plan on a Windows VM).
    let config = resource(&[line("type_handler_version", "\"0.9\"")]);
    validate_fails_on_line(
        &config,
        "type_handler_version",
        "Unsupported handler version",
    );
}

#[test]
fn validate_reports_all_errors_each_on_its_own_line() {
    let (dir, main) = dir_with(&resource(&write_only(
        "a/b",
        "Correct-Horse-42",
        &[line("type_handler_version", "\"latest\"")],
    )));
    let out = dir.run(&["validate", "-json"]);
    let mut got: Vec<(String, i64)> = errors(&out)
        .iter()
        .map(|e| {
            (
                e["summary"].as_str().unwrap().to_string(),
                e["range"]["start"]["line"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("Invalid user name".to_string(), line_of(&main, "username")),
            (
                "Unsupported handler version".to_string(),
                line_of(&main, "type_handler_version")
            ),
        ],
        "{out}"
    );
}

/// `--debug` serves without Terraform starting the process and prints the
/// `TF_REATTACH_PROVIDERS` value; terraform then uses that running provider.
#[test]
fn debug_mode_prints_a_reattach_value_terraform_can_use() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut provider = Command::new(env!("CARGO_BIN_EXE_terraform-provider-vm"))
        .arg("--debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the provider in debug mode");
    let stdout = provider.stdout.take().expect("provider stdout");
    let reattach = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.trim()
                .strip_prefix("TF_REATTACH_PROVIDERS='")
                .map(|v| v.trim_end_matches('\'').to_string())
        })
        .expect("a TF_REATTACH_PROVIDERS line");
    let parsed: Json = serde_json::from_str(&reattach).expect("reattach value is JSON");
    assert_eq!(parsed[ADDRESS]["ProtocolVersion"], 6, "{reattach}");

    let (dir, main_tf) = dir_with(&resource(&write_only("ops@admin", "Correct-Horse-42", &[])));
    // No dev_overrides: the reattached process is the only way to the provider.
    dir.write("direct.tfrc", "provider_installation {\n  direct {}\n}\n");
    let direct = dir.work_dir().join("direct.tfrc");
    let out = dir
        .cmd(["validate", "-json"])
        .env("TF_CLI_CONFIG_FILE", &direct.to_string_lossy())
        .env("TF_REATTACH_PROVIDERS", &reattach)
        .run();
    let _ = provider.kill();
    let _ = provider.wait();
    assert_one_error_on_line(&out, &main_tf, "username", "Invalid user name");
}

/// Configuring the provider authenticates nothing: a plan without
/// resources succeeds even when every Azure endpoint is unreachable.
#[test]
fn configure_and_empty_plan_never_touch_the_network() {
    let dir = TfDir::new();
    dir.write_main(
        "provider \"vm\" {\n  subscription_id = \"00000000-0000-0000-0000-000000000001\"\n}\n",
    );
    let out = dir
        .cmd(["plan", "-detailed-exitcode", "-no-color", "-input=false"])
        // Port 9 on loopback: nothing listens; any connection attempt fails.
        .env("ARM_METADATA_HOSTNAME", "127.0.0.1:9")
        .env("ARM_TENANT_ID", "00000000-0000-0000-0000-000000000002")
        .env("ARM_CLIENT_ID", "00000000-0000-0000-0000-000000000003")
        .env("ARM_CLIENT_SECRET", "not-a-real-secret")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .run();
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("No changes"), "{out}");
}

/// The terraform under test is the one `TF_ACC_TERRAFORM_PATH` names (the
/// version `terraform version` prints), and a test needing a newer one fails
/// with a message naming the version it needs, the one it got and how to run
/// it — never passes without running.
#[test]
fn a_test_needing_a_newer_terraform_fails_naming_the_version() {
    let actual = terraform_version();
    let out = TfDir::new().run(&["version"]);
    out.assert_success();
    assert!(
        out.stdout.starts_with(&format!("Terraform v{actual}")),
        "{} reports {actual}:\n{out}",
        terraform_binary().display()
    );
    assert!(actual >= MINIMUM_TERRAFORM, "{actual}");
    println!(
        "terraform under test: {actual} ({})",
        terraform_binary().display()
    );

    require_terraform(actual, "what this terraform has");
    let next = TerraformVersion(actual.0, actual.1 + 1, 0);
    let refusal = std::panic::catch_unwind(|| require_terraform(next, "a newer feature"))
        .expect_err("a newer requirement must fail the test");
    let message = refusal
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    for part in [
        format!("needs Terraform >= {next} (a newer feature)"),
        format!("the terraform under test is {actual}"),
        "TF_ACC_TERRAFORM_PATH".to_string(),
        "scripts/install-terraform-1.15.sh".to_string(),
    ] {
        assert!(message.contains(&part), "{part:?} missing from: {message}");
    }
}

#[test]
fn terraform_versions_parse_and_order() {
    let v = |s| TerraformVersion::parse(s);
    assert_eq!(v("1.15.5"), Some(TerraformVersion(1, 15, 5)));
    assert_eq!(v("v1.11.4"), Some(TerraformVersion(1, 11, 4)));
    assert_eq!(v("1.16.0-alpha20260101"), Some(TerraformVersion(1, 16, 0)));
    for bad in ["", "1.15", "1.15.5.1", "one.two.three"] {
        assert_eq!(v(bad), None, "{bad:?}");
    }
    assert!(TerraformVersion(1, 9, 9) < TerraformVersion(1, 11, 0));
    assert!(TerraformVersion(1, 15, 5) > TerraformVersion(1, 12, 0));
}

/// The provider offers its action to every Terraform: 1.14 and later see it next to the
/// resource; older ones (1.11.4 in the test matrix) never ask for it, and load the provider and
/// serve the resource exactly as before.
#[test]
fn the_action_is_seen_by_terraform_with_actions_and_ignored_by_older_ones() {
    let (dir, _) = dir_with(&resource(&write_only("opsadmin", "Correct-Horse-42", &[])));
    let out = dir.run(&["providers", "schema", "-json"]);
    out.assert_success();
    let provider = &out.json()["provider_schemas"][ADDRESS];
    assert!(
        provider["resource_schemas"]["vm_access_reset"].is_object(),
        "{out}"
    );
    let action = &provider["action_schemas"]["vm_access_reset"];
    if terraform_version() >= TerraformVersion(1, 14, 0) {
        let password = &action["block"]["attributes"]["password"];
        assert_eq!(password["write_only"], true, "{action:#}");
        assert_eq!(password["sensitive"], true, "{action:#}");
        assert_eq!(
            action["block"]["attributes"]["virtual_machine_id"]["required"],
            true
        );
    } else {
        assert!(
            action.is_null(),
            "Terraform without actions shows {action:#}"
        );
    }
    let validate = dir.run(&["validate", "-json", "-no-color"]);
    validate.assert_success();
    assert_eq!(validate.json()["valid"], true, "{validate}");
}
