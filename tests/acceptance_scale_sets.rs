//! Acceptance: the `vm_scale_set_access_reset` resource with the real terraform CLI (1.11 or
//! later) against the emulator's scale sets: a 50-instance uniform Windows scale set with stopped
//! instances (skipped with a note) and one whose agent is not ready (failed while the others
//! succeed; the next apply reruns that instance only), and a flexible Linux scale set whose keys
//! are replaced, with the opt-in that also sets the model (and its plan warning). The model
//! carries no VMAccess settings unless asked; no secret reaches state, plan, trace or output.

use serde_json::json;
use vm_emulator::admin::{ExtensionSeed, ScaleSetRef, ScaleSetSeed, SshLogin, VmPatch};
use vm_emulator::{LOCKED_OUT_USER, LinuxGuestSeed, LinuxUserSeed, ScaleSetView, VmSeed};
use vm_test_support::acceptance::{Acceptance, ssh_public_keys_line};
use vm_test_support::azure_emulator::RESOURCE_GROUP;
use vm_test_support::secrets::{Traced, assert_clean};
use vm_test_support::ssh_keys::ed25519_public_key;

const ADDR: &str = "vm_scale_set_access_reset.fleet";
const PW: &str = "Fleet-Passw0rd!2026";
const APPLY: &[&str] = &["apply", "-auto-approve", "-no-color", "-input=false"];
const VARS: &str = "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\nvariable \"ver\" {\n  type = number\n}\n";

fn scale_set_ref(acc: &Acceptance, name: &str) -> ScaleSetRef {
    ScaleSetRef::new(acc.emu.subscription_id(), RESOURCE_GROUP, name)
}

async fn seed(acc: &Acceptance, name: &str, seed: ScaleSetSeed) -> ScaleSetView {
    acc.emu
        .admin
        .seed_scale_set(&scale_set_ref(acc, name), &seed)
        .await
        .expect("scale set seeded")
}

async fn view(acc: &Acceptance, name: &str) -> ScaleSetView {
    acc.emu
        .admin
        .scale_set(&scale_set_ref(acc, name))
        .await
        .expect("scale set read")
}

fn block(scale_set: &ScaleSetView, lines: &[&str]) -> String {
    format!(
        "resource \"vm_scale_set_access_reset\" \"fleet\" {{\n  virtual_machine_scale_set_id = \"{}\"\n{}\n}}\n",
        scale_set.id,
        lines
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// The `instances` results in state, as (name, result, message).
fn results(acc: &Acceptance) -> Vec<(String, String, String)> {
    let state = acc.state_values(ADDR);
    state["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("instances is a list: {state:#}"))
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_string();
            (s("name"), s("result"), s("message"))
        })
        .collect()
}

fn count(results: &[(String, String, String)], result: &str) -> usize {
    results.iter().filter(|(_, r, _)| r == result).count()
}

/// The model's access extensions (either OS's).
fn model_vmaccess(view: &ScaleSetView) -> Vec<String> {
    view.model_extensions
        .iter()
        .filter(|e| e.extension_type.starts_with("VMAccess"))
        .map(|e| e.name.clone())
        .collect()
}

/// The tag of the instance's VMAccess extension, if it has one.
fn instance_tag(view: &ScaleSetView, key: &str) -> Option<String> {
    view.instance(key)
        .unwrap_or_else(|| panic!("no instance {key}"))
        .vm
        .extensions
        .iter()
        .find(|e| e.extension_type.starts_with("VMAccess"))
        .and_then(|e| e.force_update_tag.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uniform_windows_scale_set_of_50_skips_stopped_and_reruns_only_the_failed_instance() {
    let acc = Acceptance::start().await;
    let set = seed(
        &acc,
        "vmss-win",
        ScaleSetSeed::uniform(50, VmSeed::locked_out())
            .stopped([3])
            .deallocated([7])
            .agent_not_ready([10]),
    )
    .await;
    let ss = scale_set_ref(&acc, "vmss-win");
    acc.tf.write_main(&format!(
        "{VARS}\n{}",
        block(
            &set,
            &[
                &format!("username            = \"{LOCKED_OUT_USER}\""),
                "password_wo         = var.pw",
                "password_wo_version = var.ver",
            ],
        )
    ));
    let env = [("TF_VAR_pw", PW), ("TF_VAR_ver", "1")];
    let mut traced = Traced::new(&acc);
    let plan_out = traced.run(&["plan", "-no-color", "-input=false", "-out=tfplan"], &env);
    assert!(
        plan_out.contains("Stopped instances will be skipped") && plan_out.contains("vmss-win_3"),
        "the plan names the stopped instances: {plan_out}"
    );
    let plan_json = traced.run(&["show", "-json", "tfplan"], &[]);
    let apply_out = traced.run(&["apply", "-no-color", "-input=false", "tfplan"], &env);
    assert!(
        apply_out.contains("did not take the reset")
            || apply_out.contains("failed on 1 instance(s)"),
        "the apply warns of the failed instance: {apply_out}"
    );

    let first = results(&acc);
    assert_eq!(first.len(), 50, "{first:?}");
    assert_eq!(count(&first, "succeeded"), 47, "{first:?}");
    assert_eq!(count(&first, "skipped"), 2, "{first:?}");
    let failed: Vec<_> = first.iter().filter(|(_, r, _)| r == "failed").collect();
    assert_eq!(failed.len(), 1, "{first:?}");
    assert_eq!(failed[0].0, "vmss-win_10");
    assert!(failed[0].2.contains("agent"), "why it failed: {failed:?}");
    for (name, result, message) in &first {
        if result == "skipped" {
            assert!(
                message.contains("stopped") || message.contains("deallocated"),
                "{name}: {message}"
            );
        }
    }
    for key in ["0", "25", "49"] {
        let login = acc
            .emu
            .admin
            .instance_login(&ss, key, LOCKED_OUT_USER, PW)
            .await;
        assert!(
            login.expect("login tried").ok,
            "instance {key} takes the new password"
        );
    }
    let after_first = view(&acc, "vmss-win").await;
    assert_eq!(
        model_vmaccess(&after_first),
        Vec::<String>::new(),
        "the model carries no VMAccess settings"
    );
    assert_eq!(
        instance_tag(&after_first, "3"),
        None,
        "a stopped instance is not touched"
    );
    let tag_0 = instance_tag(&after_first, "0").expect("instance 0 ran");

    // The agent comes back: the next plan reruns instance 10 only, and says so.
    acc.emu
        .admin
        .patch_instance(
            &ss,
            "10",
            &VmPatch {
                agent_ready: Some(true),
                ..VmPatch::default()
            },
        )
        .await
        .expect("agent ready");
    let plan = acc.run_with_env(&["plan", "-no-color", "-input=false"], &env);
    plan.assert_success();
    plan.assert_mentions(&["will run again", "vmss-win_10", "1 to change"]);
    let rerun = traced.run(APPLY, &env);
    let second = results(&acc);
    assert_eq!(count(&second, "succeeded"), 48, "{second:?}");
    assert_eq!(count(&second, "skipped"), 2, "{second:?}");
    let after_second = view(&acc, "vmss-win").await;
    assert_eq!(
        instance_tag(&after_second, "0"),
        Some(tag_0),
        "instance 0 did not run again"
    );
    assert!(
        instance_tag(&after_second, "10").is_some(),
        "instance 10 ran"
    );
    let login = acc
        .emu
        .admin
        .instance_login(&ss, "10", LOCKED_OUT_USER, PW)
        .await;
    assert!(
        login.expect("login tried").ok,
        "instance 10 takes the new password"
    );
    assert_eq!(model_vmaccess(&after_second), Vec::<String>::new());
    let settled = acc.run_with_env(
        &["plan", "-detailed-exitcode", "-no-color", "-input=false"],
        &env,
    );
    assert_eq!(
        settled.code(),
        Some(0),
        "nothing left to do (the stopped instances stay skipped): {}",
        settled.text()
    );

    // A bump reruns every running instance.
    let bump = [("TF_VAR_pw", PW), ("TF_VAR_ver", "2")];
    let out = acc.run_with_env(APPLY, &bump);
    out.assert_success();
    let after_bump = view(&acc, "vmss-win").await;
    assert_ne!(
        instance_tag(&after_bump, "0"),
        instance_tag(&after_second, "0")
    );

    let state = acc.state_file();
    let logs = traced.logs("/virtualMachines/0/extensions/");
    for (what, text) in [
        ("state", state.as_str()),
        ("plan JSON", plan_json.as_str()),
        ("plan output", plan_out.as_str()),
        ("apply output", apply_out.as_str()),
        ("rerun output", rerun.as_str()),
        ("trace logs", logs.as_str()),
    ] {
        assert_clean(
            what,
            text,
            &[("password", PW), ("client secret", acc.emu.client_secret())],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flexible_linux_scale_set_replaces_keys_and_sets_the_model_only_when_asked() {
    let acc = Acceptance::start().await;
    let old = ed25519_public_key("old");
    let new = ed25519_public_key("new");
    let guest = LinuxGuestSeed {
        users: vec![LinuxUserSeed::new("azureuser", &[&old])],
        ..LinuxGuestSeed::default()
    };
    let set = seed(
        &acc,
        "vmss-lnx",
        ScaleSetSeed::flexible(4, VmSeed::linux(guest)),
    )
    .await;
    let ss = scale_set_ref(&acc, "vmss-lnx");
    let keys = ssh_public_keys_line(&[&new]);
    let config = |extra: &[&str]| {
        let mut lines = vec![
            "username          = \"azureuser\"",
            keys.as_str(),
            "remove_prior_keys = true",
        ];
        lines.extend_from_slice(extra);
        block(&set, &lines)
    };
    acc.tf.write_main(&config(&[]));
    let out = acc.run(APPLY);
    out.assert_success();
    let state = acc.state_values(ADDR);
    assert_eq!(state["orchestration_mode"], "Flexible");
    assert_eq!(state["os_type"], "Linux");
    let first = results(&acc);
    assert_eq!(count(&first, "succeeded"), 4, "{first:?}");
    let view1 = view(&acc, "vmss-lnx").await;
    assert_eq!(
        model_vmaccess(&view1),
        Vec::<String>::new(),
        "model untouched"
    );
    for instance in &view1.instances {
        let by_new = acc
            .emu
            .admin
            .instance_ssh_login(&ss, &instance.key, &SshLogin::public_key("azureuser", &new))
            .await
            .expect("login tried");
        let by_old = acc
            .emu
            .admin
            .instance_ssh_login(&ss, &instance.key, &SshLogin::public_key("azureuser", &old))
            .await
            .expect("login tried");
        assert!(
            by_new.ok && !by_old.ok,
            "{}: new key in, old key out",
            instance.name
        );
    }
    assert_eq!(acc.plan_exit_code(&[]), 0, "a second plan is empty");

    // The opt-in: the plan warns that the credentials go into the model, and the model gets them.
    acc.tf.write_main(&config(&["update_model      = true"]));
    let plan = acc.run(&["plan", "-no-color", "-input=false"]);
    plan.assert_success();
    plan.assert_mentions(&[
        "credentials will live in the scale set's model",
        "update_model",
    ]);
    acc.apply();
    let view2 = view(&acc, "vmss-lnx").await;
    let model: Vec<_> = view2
        .model_extensions
        .iter()
        .filter(|e| e.extension_type == "VMAccessForLinux")
        .collect();
    assert_eq!(model.len(), 1, "{:?}", view2.model_extensions);
    assert!(
        model[0]
            .protected_setting_keys
            .iter()
            .any(|k| k == "ssh_key"),
        "the model holds the key: {:?}",
        model[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_extension_inherited_from_the_model_is_reused_per_instance_and_the_model_left_alone() {
    let acc = Acceptance::start().await;
    let image_vmaccess = ExtensionSeed {
        settings: Some(json!({"UserName": "imageadmin"})),
        protected_settings: Some(json!({"Password": "Image-Passw0rd!1"})),
        force_update_tag: Some("image-build".into()),
        ..ExtensionSeed::default()
    };
    let set = seed(
        &acc,
        "vmss-img",
        ScaleSetSeed::uniform(3, VmSeed::locked_out()).model_extension(image_vmaccess),
    )
    .await;
    let before = view(&acc, "vmss-img").await;
    assert_eq!(model_vmaccess(&before), vec!["VMAccessAgent".to_string()]);
    acc.tf.write_main(&format!(
        "{VARS}\n{}",
        block(
            &set,
            &[
                &format!("username            = \"{LOCKED_OUT_USER}\""),
                "password_wo         = var.pw",
                "password_wo_version = var.ver",
            ],
        )
    ));
    let env = [("TF_VAR_pw", PW), ("TF_VAR_ver", "1")];
    let plan = acc.run_with_env(&["plan", "-no-color", "-input=false"], &env);
    plan.assert_success();
    plan.assert_mentions(&[
        "The scale set's model has its own VMAccess extension",
        "\"VMAccessAgent\"",
    ]);
    let out = acc.run_with_env(APPLY, &env);
    out.assert_success();
    let state = acc.state_values(ADDR);
    for instance in state["instances"].as_array().expect("instances") {
        assert_eq!(instance["result"], "succeeded", "{instance}");
        assert_eq!(instance["extension_name"], "VMAccessAgent", "{instance}");
    }
    let after = view(&acc, "vmss-img").await;
    let model = after
        .model_extension("VMAccessAgent")
        .expect("still in the model");
    assert_eq!(
        model.force_update_tag.as_deref(),
        Some("image-build"),
        "the model's extension was not rewritten"
    );
    for instance in &after.instances {
        let ext = instance
            .vm
            .extensions
            .iter()
            .find(|e| e.name == "VMAccessAgent")
            .expect("the instance's VMAccess extension");
        assert_eq!(
            ext.settings.as_ref().and_then(|s| s.get("UserName")),
            Some(&json!(LOCKED_OUT_USER)),
            "{} ran with the configured account",
            instance.name
        );
        let login = acc
            .emu
            .admin
            .instance_login(
                &scale_set_ref(&acc, "vmss-img"),
                &instance.key,
                LOCKED_OUT_USER,
                PW,
            )
            .await
            .expect("login tried");
        assert!(login.ok, "{} takes the new password", instance.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flexible_windows_scale_set_reruns_only_the_vm_whose_agent_was_not_ready() {
    let acc = Acceptance::start().await;
    let set = seed(
        &acc,
        "vmss-flex",
        ScaleSetSeed::flexible(5, VmSeed::locked_out()).agent_not_ready([2]),
    )
    .await;
    let ss = scale_set_ref(&acc, "vmss-flex");
    let stuck = set.instances[2].clone();
    acc.tf.write_main(&format!(
        "{VARS}\n{}",
        block(
            &set,
            &[
                &format!("username            = \"{LOCKED_OUT_USER}\""),
                "password_wo         = var.pw",
                "password_wo_version = var.ver",
            ],
        )
    ));
    let env = [("TF_VAR_pw", PW), ("TF_VAR_ver", "1")];
    let out = acc.run_with_env(APPLY, &env);
    out.assert_success();
    out.assert_mentions(&["failed on 1 instance(s)", &stuck.name]);
    let first = results(&acc);
    assert_eq!(count(&first, "succeeded"), 4, "{first:?}");
    assert_eq!(
        first
            .iter()
            .find(|(_, r, _)| r == "failed")
            .map(|(n, _, _)| n),
        Some(&stuck.name)
    );
    let before = view(&acc, "vmss-flex").await;
    acc.emu
        .admin
        .patch_instance(
            &ss,
            &stuck.key,
            &VmPatch {
                agent_ready: Some(true),
                ..VmPatch::default()
            },
        )
        .await
        .expect("agent ready");
    let rerun = acc.run_with_env(APPLY, &env);
    rerun.assert_success();
    rerun.assert_mentions(&["will run again", &stuck.name]);
    assert_eq!(count(&results(&acc), "succeeded"), 5);
    let after = view(&acc, "vmss-flex").await;
    for instance in &before.instances {
        let tag_before = instance_tag(&before, &instance.key);
        let tag_after = instance_tag(&after, &instance.key);
        if instance.key == stuck.key {
            assert!(
                tag_after.is_some() && tag_after != tag_before,
                "the stuck VM ran"
            );
        } else {
            assert_eq!(tag_after, tag_before, "{} did not run again", instance.name);
        }
    }
    let login = acc
        .emu
        .admin
        .instance_login(&ss, &stuck.key, LOCKED_OUT_USER, PW)
        .await
        .expect("login tried");
    assert!(login.ok, "the stuck VM takes the new password");
    assert_eq!(model_vmaccess(&after), Vec::<String>::new());
}
