//! The Registry documentation in `docs/` and the schemas agree: every
//! attribute of the provider, of the resources (`vm_access_reset`,
//! `vm_scale_set_access_reset`, including their `timeouts` blocks) and of the
//! actions of the same names is documented with the right qualifiers — Required,
//! Optional, Computed, Sensitive, Write-only — nothing documented is missing
//! from the schema, every provider setting's environment variables appear
//! next to it, and the Example Usage blocks are the files in `examples/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use terraform_provider_vm::tfprotocol::timeouts::Operation;
use terraform_provider_vm::tfprotocol::{Attribute, Block, Value};

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
}

/// Wording the schema cannot check: each phrase must appear in the `what` doc.
fn assert_doc_mentions(doc: &str, what: &str, phrases: &[&str]) {
    for phrase in phrases {
        assert!(doc.contains(phrase), "{what} doc lacks {phrase:?}");
    }
}

/// The bullets `* \`name\` - (Qual, Qual) text` under `## {heading}`.
fn section_bullets(doc: &str, heading: &str) -> BTreeMap<String, (BTreeSet<String>, String)> {
    let start = doc
        .lines()
        .position(|l| l.trim() == format!("## {heading}"))
        .unwrap_or_else(|| panic!("no `## {heading}` section"));
    let mut bullets = BTreeMap::new();
    for line in doc.lines().skip(start + 1) {
        if line.starts_with("## ") {
            break;
        }
        let Some(rest) = line.strip_prefix("* `") else {
            continue;
        };
        let (name, rest) = rest
            .split_once("` - ")
            .unwrap_or_else(|| panic!("bullet not in `* \\`name\\` - (…) text` form: {line}"));
        let rest = rest
            .strip_prefix('(')
            .unwrap_or_else(|| panic!("bullet for `{name}` lacks its (Required/Optional…) tag"));
        let (tags, text) = rest.split_once(')').expect("closing parenthesis");
        let tags = tags.split(',').map(|t| t.trim().to_string()).collect();
        assert!(
            bullets
                .insert(name.to_string(), (tags, text.trim().to_string()))
                .is_none(),
            "`{name}` is documented twice under ## {heading}"
        );
    }
    bullets
}

/// The qualifiers the docs must give an attribute. An attribute with a
/// default is optional and computed in the protocol, but to a user it is
/// just optional (with "Defaults to").
fn expected_tags(a: &Attribute) -> BTreeSet<String> {
    let mut tags = BTreeSet::new();
    if a.required {
        tags.insert("Required".to_string());
    }
    if a.optional {
        tags.insert("Optional".to_string());
    }
    if a.computed && (!a.optional || a.default.is_none()) {
        tags.insert("Computed".to_string());
    }
    if a.sensitive {
        tags.insert("Sensitive".to_string());
    }
    if a.write_only {
        tags.insert("Write-only".to_string());
    }
    tags
}

/// A default value as the docs write it between backticks.
fn shown(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn check_attributes(
    what: &str,
    block: &Block,
    documented: &BTreeMap<String, (BTreeSet<String>, String)>,
) {
    let mut problems = Vec::new();
    for a in &block.attributes {
        match documented.get(&a.name) {
            None => problems.push(format!("{what}: `{}` is not documented", a.name)),
            Some((tags, text)) => {
                let want = expected_tags(a);
                if *tags != want {
                    problems.push(format!(
                        "{what}: `{}` is documented as ({}) but the schema says ({})",
                        a.name,
                        tags.iter().cloned().collect::<Vec<_>>().join(", "),
                        want.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
                if let Some(default) = &a.default {
                    let want = format!("Defaults to `{}`", shown(default));
                    if !text.contains(&want) {
                        problems.push(format!(
                            "{what}: `{}` has a default the docs do not give ({want:?})",
                            a.name
                        ));
                    }
                }
            }
        }
    }
    let known: BTreeSet<&str> = block
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .chain(block.blocks.iter().map(|b| b.type_name.as_str()))
        .collect();
    for name in documented.keys() {
        if !known.contains(name.as_str()) {
            problems.push(format!(
                "{what}: `{name}` is documented but not in the schema"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Argument and Attribute Reference together, each name once.
fn reference(doc: &str) -> BTreeMap<String, (BTreeSet<String>, String)> {
    let mut all = section_bullets(doc, "Argument Reference");
    if doc.lines().any(|l| l.trim() == "## Attribute Reference") {
        for (name, entry) in section_bullets(doc, "Attribute Reference") {
            assert!(
                all.insert(name.clone(), entry).is_none(),
                "`{name}` is in both Argument and Attribute Reference"
            );
        }
    }
    all
}

#[test]
fn provider_arguments_match_the_schema() {
    let doc = read("docs/index.md");
    let schema = terraform_provider_vm::provider::schema();
    check_attributes("docs/index.md", &schema.block, &reference(&doc));
}

#[test]
fn provider_env_vars_are_documented_with_their_setting() {
    let doc = read("docs/index.md");
    let args = section_bullets(&doc, "Argument Reference");
    for setting in terraform_provider_vm::provider::SETTINGS {
        let (_, text) = args
            .get(setting.name)
            .unwrap_or_else(|| panic!("`{}` is not documented", setting.name));
        for var in setting.env {
            assert!(
                text.contains(&format!("`{var}`")),
                "docs/index.md: the bullet for `{}` does not name its environment variable {var}",
                setting.name
            );
            // And the authentication table or prose mentions it too.
            assert!(doc.matches(var).count() >= 2, "{var} appears only once");
        }
    }
}

/// A resource page against its schema: every attribute under Argument or Attribute Reference
/// with the right qualifiers, every nested block (Optional), and the `timeouts` block under
/// `## Timeouts` with each operation's default.
fn check_resource_doc(path: &str, schema: &Block, default_timeouts: &[(Operation, Duration)]) {
    let doc = read(path);
    let documented = reference(&doc);
    check_attributes(path, schema, &documented);
    for nested in &schema.blocks {
        let (tags, _) = documented
            .get(&nested.type_name)
            .unwrap_or_else(|| panic!("{path}: block `{}` is not documented", nested.type_name));
        assert!(
            tags.contains("Optional"),
            "{path}: block `{}` should be (Optional)",
            nested.type_name
        );
    }
    let timeouts = schema
        .blocks
        .iter()
        .find(|b| b.type_name == "timeouts")
        .unwrap_or_else(|| panic!("{path}: the resource has a timeouts block"));
    let documented_timeouts = section_bullets(&doc, "Timeouts");
    check_attributes(
        &format!("{path} (Timeouts)"),
        &timeouts.block,
        &documented_timeouts,
    );
    for (op, default) in default_timeouts {
        let (_, text) = &documented_timeouts[op.name()];
        let want = format!(
            "Defaults to `{}`",
            terraform_provider_vm::tfprotocol::timeouts::format_duration(*default)
        );
        assert!(
            text.contains(&want),
            "{path}: timeouts.{}: docs lack {want:?}",
            op.name()
        );
    }
}

/// An action page: the `config` attributes are its Argument Reference, with the same
/// qualifiers as a resource's.
fn check_action_doc(path: &str, config: &Block) {
    let doc = read(path);
    check_attributes(path, config, &section_bullets(&doc, "Argument Reference"));
}

/// The page at `path` shows each example file verbatim (up to `cut`, a comment after which a
/// file holds more than the page shows).
fn assert_embeds(path: &str, files: &[&str], cut: Option<&str>) {
    let doc = read(path);
    for file in files {
        let text = read(file);
        let shown = cut.map_or(text.as_str(), |c| text.split(c).next().unwrap_or_default());
        assert!(
            doc.contains(shown.trim_end()),
            "{path} does not embed {file} verbatim"
        );
    }
}

#[test]
fn resource_attributes_match_the_schema() {
    let path = "docs/resources/vm_access_reset.md";
    // Rerun-relevant wording the schema cannot check.
    assert_doc_mentions(
        &read(path),
        "resource",
        &[
            "ignore_changes",
            "Import",
            "One resource per VM",
            "will rerun the VMAccess extension",
        ],
    );
    check_resource_doc(
        path,
        &terraform_provider_vm::resources::vm_access_reset::schema().block,
        &terraform_provider_vm::resources::vm_access_reset::DEFAULT_TIMEOUTS,
    );
}

#[test]
fn scale_set_resource_attributes_match_the_schema() {
    use terraform_provider_vm::resources::vm_scale_set_access_reset as scale_set;
    let path = "docs/resources/vm_scale_set_access_reset.md";
    // What a user must learn before the first apply, which the schema cannot check.
    assert_doc_mentions(
        &read(path),
        "scale-set resource",
        &[
            "Instances created later come up with the model's credentials, not these",
            "The credentials will live in the scale set's model",
            "Stopped instances will be skipped",
            "Instances that did not take the reset will run again",
            "There is nothing to import",
            "Destroy forgets the results",
            "the next plan reruns the failed ones",
            "Uniform",
            "Flexible",
        ],
    );
    check_resource_doc(
        path,
        &scale_set::schema().block,
        &scale_set::DEFAULT_TIMEOUTS,
    );
    assert_embeds(
        path,
        &[
            "examples/resources/vm_scale_set_access_reset/resource.tf",
            "examples/resources/vm_scale_set_access_reset/linux.tf",
        ],
        None,
    );
}

/// The action's `config` attributes, with the same qualifiers as a resource's.
#[test]
fn action_attributes_match_the_schema() {
    let path = "docs/actions/vm_access_reset.md";
    assert_doc_mentions(
        &read(path),
        "action",
        &[
            "When to use the action, when the resource",
            "Removing the extension afterwards",
            "will rerun the VMAccess extension",
            "The VMAccess run may still finish",
        ],
    );
    check_action_doc(
        path,
        &terraform_provider_vm::actions::vm_access_reset::schema().block,
    );
    assert_embeds(
        path,
        &[
            "examples/actions/vm_access_reset/action.tf",
            "examples/actions/vm_access_reset/rdp.tf",
            "examples/actions/vm_access_reset/trigger.tf",
        ],
        None,
    );
}

#[test]
fn scale_set_action_attributes_match_the_schema() {
    let path = "docs/actions/vm_scale_set_access_reset.md";
    assert_doc_mentions(
        &read(path),
        "scale-set action",
        &[
            "When to use the action, when the resource",
            "come up with the model's credentials, not these",
            "-invoke=action.vm_scale_set_access_reset.",
            "Stopped instances will be skipped",
        ],
    );
    check_action_doc(
        path,
        &terraform_provider_vm::actions::vm_scale_set_access_reset::schema().block,
    );
    // The action's batch size has no schema default (an action's config has none); it is the
    // resource's.
    let resource = terraform_provider_vm::resources::vm_scale_set_access_reset::schema();
    let default = resource
        .block
        .attributes
        .iter()
        .find(|a| a.name == "max_parallel_instances")
        .and_then(|a| a.default.as_ref())
        .expect("the resource's max_parallel_instances has a default");
    let (_, text) = &section_bullets(&read(path), "Argument Reference")["max_parallel_instances"];
    let want = format!("Defaults to `{}`", shown(default));
    assert!(
        text.contains(&want),
        "{path}: max_parallel_instances lacks {want:?}"
    );
    assert_embeds(
        path,
        &["examples/actions/vm_scale_set_access_reset/action.tf"],
        None,
    );
}

/// The guide and the index point at the scale-set pages.
#[test]
fn scale_set_pages_are_linked() {
    let guide = read("docs/guides/scale-sets.md");
    assert_doc_mentions(
        &guide,
        "scale-set guide",
        &[
            "../resources/vm_scale_set_access_reset.md",
            "../actions/vm_scale_set_access_reset.md",
            "az vmss extension set",
            "az vmss update-instances",
            "update_model",
        ],
    );
    assert_doc_mentions(
        &read("docs/index.md"),
        "index",
        &[
            "resources/vm_scale_set_access_reset.md",
            "actions/vm_scale_set_access_reset.md",
            "guides/scale-sets.md",
        ],
    );
}

/// Every identity attribute is under `## Identity`, Required or Optional
/// as an `import` block's `identity` needs it, and nothing else is.
#[test]
fn resource_identity_matches_the_docs() {
    use terraform_provider_vm::tfprotocol::ImportRule;
    let doc = read("docs/resources/vm_access_reset.md");
    let documented = section_bullets(&doc, "Identity");
    let schema = terraform_provider_vm::resources::vm_access_reset::identity::schema();
    let names: BTreeSet<&str> = schema.attributes.iter().map(|a| a.name.as_str()).collect();
    let doc_names: BTreeSet<&str> = documented.keys().map(String::as_str).collect();
    assert_eq!(
        doc_names, names,
        "## Identity documents exactly the identity attributes"
    );
    for a in &schema.attributes {
        let (tags, text) = &documented[&a.name];
        let want = match a.import {
            ImportRule::Required => "Required",
            ImportRule::Optional => "Optional",
        };
        assert_eq!(
            tags,
            &BTreeSet::from([want.to_string()]),
            "identity `{}`",
            a.name
        );
        assert!(!text.is_empty(), "identity `{}` has no description", a.name);
    }
    assert!(
        doc.contains(&format!("version {}", schema.version)),
        "the identity version is documented"
    );
}

/// The fenced blocks after `## Example Usage` and `## Import` are the
/// example files verbatim, so the tested examples are what users read.
#[test]
fn doc_examples_are_the_example_files() {
    let index = read("docs/index.md");
    assert!(
        index.contains(read("examples/provider/provider.tf").trim_end()),
        "docs/index.md does not embed examples/provider/provider.tf verbatim"
    );
    assert_embeds(
        "docs/resources/vm_access_reset.md",
        &[
            "examples/resources/vm_access_reset/resource.tf",
            "examples/resources/vm_access_reset/import.sh",
            "examples/resources/vm_access_reset/import.tf",
            "examples/resources/vm_access_reset/import-identity.tf",
        ],
        Some("\n\n# Remote Desktop"),
    );
}

/// The list resource's `config` attributes are its Argument Reference, and its Example Usage is
/// the example `.tfquery.hcl` verbatim.
#[test]
fn list_resource_config_matches_the_docs() {
    let doc = read("docs/list-resources/vm_access_reset.md");
    let schema = terraform_provider_vm::list_resources::vm_access_reset::schema();
    check_attributes(
        "docs/list-resources/vm_access_reset.md",
        &schema.block,
        &section_bullets(&doc, "Argument Reference"),
    );
    let example = read("examples/list-resources/vm_access_reset/list.tfquery.hcl");
    assert!(
        doc.contains(example.trim_end()),
        "docs/list-resources/vm_access_reset.md does not embed the example verbatim"
    );
    assert_doc_mentions(
        &doc,
        "list resource",
        &[
            "-generate-config-out",
            "VMs without an extension",
            "var.admin_password",
        ],
    );
}

#[test]
fn readme_names_every_provider_env_var() {
    let readme = read("README.md");
    for setting in terraform_provider_vm::provider::SETTINGS {
        for var in setting.env {
            assert!(readme.contains(var), "README.md does not mention {var}");
        }
    }
    for must in [
        "./scripts/demo.sh",
        "./scripts/test.sh",
        "password_wo_version",
    ] {
        assert!(readme.contains(must), "README.md does not mention {must}");
    }
}
