//! ARM resource IDs of virtual machines, scale sets and their extensions.
//!
//! A [`VirtualMachineId`] names a machine the engine can reset: a VM (a flexible scale set's
//! instances are VMs too) or an instance of a uniform scale set
//! (`…/virtualMachineScaleSets/{scale set}/virtualMachines/{instance ID}`), whose extensions
//! Azure serves under the instance's own path.
//!
//! ARM treats the segment keywords (`subscriptions`, `resourceGroups`, `providers`, …) and the
//! names case-insensitively. We accept any casing of the keywords, print them in the canonical
//! form, and keep the user's casing of the names so that Terraform sees back what it was given.
//!
//! A leaf: imports nothing of the Azure layer.

use std::fmt;
use std::str::FromStr;

const VM_SHAPE: &str = "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Compute/virtualMachines/{vm_name}";
const INSTANCE_SHAPE: &str = "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set_name}/virtualMachines/{instance_id}";
const SCALE_SET_SHAPE: &str = "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set_name}";

/// Why a string is not a valid VM / extension ID. Its text says what a valid ID looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} ID {input:?}: {reason}. A valid ID looks like {expected}")]
pub struct ParseError {
    kind: &'static str,
    input: String,
    reason: String,
    expected: String,
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}`, or
/// a uniform scale set's instance,
/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{ss}/virtualMachines/{instance}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VirtualMachineId {
    subscription_id: String,
    resource_group: String,
    /// The uniform scale set the instance belongs to; `None` for a VM.
    scale_set: Option<String>,
    /// The VM's name, or the instance ID in its scale set.
    name: String,
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{ss}`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScaleSetId {
    subscription_id: String,
    resource_group: String,
    name: String,
}

/// `{virtual machine ID}/extensions/{name}`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionId {
    vm: VirtualMachineId,
    name: String,
}

/// `{scale set ID}/extensions/{name}`: an extension of the scale set's model, which instances
/// created or upgraded later receive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelExtensionId {
    scale_set: ScaleSetId,
    name: String,
}

/// What a long-running extension operation writes: a machine's extension or a scale set model's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExtensionTarget {
    /// An extension of a VM or of a uniform scale set's instance.
    Machine(ExtensionId),
    /// An extension of a scale set's model.
    Model(ModelExtensionId),
}

impl VirtualMachineId {
    /// Builds an ID from its parts (names are kept as given).
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
    ) -> VirtualMachineId {
        VirtualMachineId {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            scale_set: None,
            name: name.into(),
        }
    }

    /// Reads an ARM VM ID (`/subscriptions/…/virtualMachines/…`) or a uniform scale set
    /// instance's (`/subscriptions/…/virtualMachineScaleSets/…/virtualMachines/…`).
    pub fn parse(input: &str) -> Result<VirtualMachineId, ParseError> {
        let err = |reason: &str| ParseError {
            kind: "virtual machine",
            input: input.to_owned(),
            reason: reason.to_owned(),
            expected: format!("{VM_SHAPE}, or for a scale set's instance {INSTANCE_SHAPE}"),
        };
        let segments = split(input).map_err(|r| err(&r))?;
        if segments.len() != 8 && segments.len() != 10 {
            return Err(err(&format!(
                "expected 8 path segments (10 for a scale set's instance), found {}",
                segments.len()
            )));
        }
        parse_vm_segments(&segments).map_err(|r| err(&r))
    }

    /// The uniform scale set this instance belongs to (`None` for a VM).
    pub fn scale_set(&self) -> Option<ScaleSetId> {
        self.scale_set.as_ref().map(|name| ScaleSetId {
            subscription_id: self.subscription_id.clone(),
            resource_group: self.resource_group.clone(),
            name: name.clone(),
        })
    }

    /// The subscription the VM is in.
    pub fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// The VM's resource group.
    pub fn resource_group(&self) -> &str {
        &self.resource_group
    }

    /// The VM's name, or a uniform scale set instance's ID.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ID of the extension `name` on this VM.
    pub fn extension(&self, name: impl Into<String>) -> ExtensionId {
        ExtensionId {
            vm: self.clone(),
            name: name.into(),
        }
    }

    /// The path segments after the host, unescaped (the URL builder escapes them).
    pub(crate) fn path_segments(&self) -> Vec<&str> {
        let mut s = vec![
            "subscriptions",
            &self.subscription_id,
            "resourceGroups",
            &self.resource_group,
            "providers",
            "Microsoft.Compute",
        ];
        if let Some(scale_set) = &self.scale_set {
            s.extend(["virtualMachineScaleSets", scale_set]);
        }
        s.extend(["virtualMachines", &self.name]);
        s
    }
}

impl ScaleSetId {
    /// Builds an ID from its parts (names are kept as given).
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
    ) -> ScaleSetId {
        ScaleSetId {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
        }
    }

    /// Reads an ARM scale set ID (`/subscriptions/…/virtualMachineScaleSets/…`).
    pub fn parse(input: &str) -> Result<ScaleSetId, ParseError> {
        let err = |reason: &str| ParseError {
            kind: "virtual machine scale set",
            input: input.to_owned(),
            reason: reason.to_owned(),
            expected: SCALE_SET_SHAPE.to_owned(),
        };
        let segments = split(input).map_err(|r| err(&r))?;
        let [subscription, group, name] =
            parse_compute_segments(&segments, "virtualMachineScaleSets").map_err(|r| err(&r))?;
        Ok(ScaleSetId::new(subscription, group, name))
    }

    /// The subscription the scale set is in.
    pub fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// The scale set's resource group.
    pub fn resource_group(&self) -> &str {
        &self.resource_group
    }

    /// The scale set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The extension `name` of the scale set's model.
    pub fn model_extension(&self, name: impl Into<String>) -> ModelExtensionId {
        ModelExtensionId {
            scale_set: self.clone(),
            name: name.into(),
        }
    }

    /// The uniform scale set's instance `instance_id`.
    pub fn instance(&self, instance_id: impl Into<String>) -> VirtualMachineId {
        VirtualMachineId {
            subscription_id: self.subscription_id.clone(),
            resource_group: self.resource_group.clone(),
            scale_set: Some(self.name.clone()),
            name: instance_id.into(),
        }
    }

    /// The path segments after the host, unescaped.
    pub(crate) fn path_segments(&self) -> Vec<&str> {
        vec![
            "subscriptions",
            &self.subscription_id,
            "resourceGroups",
            &self.resource_group,
            "providers",
            "Microsoft.Compute",
            "virtualMachineScaleSets",
            &self.name,
        ]
    }
}

impl ExtensionId {
    /// Reads an ARM VM extension ID (a VM ID followed by `/extensions/<name>`).
    pub fn parse(input: &str) -> Result<ExtensionId, ParseError> {
        let err = |reason: &str| ParseError {
            kind: "VM extension",
            input: input.to_owned(),
            reason: reason.to_owned(),
            expected: format!("{VM_SHAPE}/extensions/{{extension_name}}"),
        };
        let segments = split(input).map_err(|r| err(&r))?;
        if segments.len() != 10 && segments.len() != 12 {
            return Err(err(&format!(
                "expected 10 path segments (12 for a scale set instance's extension), found {}",
                segments.len()
            )));
        }
        let Some((vm_segments, [keyword, name])) = segments.split_at_checked(segments.len() - 2)
        else {
            return Err(err("expected 10 path segments"));
        };
        let vm = parse_vm_segments(vm_segments).map_err(|r| err(&r))?;
        expect_keyword(keyword, "extensions").map_err(|r| err(&r))?;
        Ok(ExtensionId {
            vm,
            name: (*name).to_owned(),
        })
    }

    /// The VM this extension belongs to.
    pub(crate) fn vm(&self) -> &VirtualMachineId {
        &self.vm
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn path_segments(&self) -> Vec<&str> {
        let mut s = self.vm.path_segments();
        s.push("extensions");
        s.push(&self.name);
        s
    }
}

impl ModelExtensionId {
    pub(crate) fn path_segments(&self) -> Vec<&str> {
        let mut s = self.scale_set.path_segments();
        s.push("extensions");
        s.push(&self.name);
        s
    }
}

impl ExtensionTarget {
    /// The machine's extension, whose instance view explains a failure; `None` for a model's.
    pub(crate) fn machine(&self) -> Option<&ExtensionId> {
        match self {
            ExtensionTarget::Machine(id) => Some(id),
            ExtensionTarget::Model(_) => None,
        }
    }
}

impl From<ExtensionId> for ExtensionTarget {
    fn from(id: ExtensionId) -> ExtensionTarget {
        ExtensionTarget::Machine(id)
    }
}

/// IDs are taken exactly as written. Whitespace around the ID or around any segment is refused,
/// not trimmed: ARM names never start or end with whitespace, and trimming only part of the
/// input once sent ARM a name with a trailing space (issue 14). One trailing `/` is accepted;
/// the printed form has none, so parsing a printed ID gives the same ID back.
fn split(input: &str) -> Result<Vec<&str>, String> {
    let Some(rest) = input.strip_prefix('/') else {
        return Err("it must start with \"/subscriptions/\"".to_owned());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err("it contains an empty segment".to_owned());
    }
    if let Some(s) = segments.iter().find(|s| s.trim() != **s) {
        return Err(format!(
            "the segment {s:?} starts or ends with whitespace; remove it"
        ));
    }
    Ok(segments)
}

fn expect_keyword(found: &str, canonical: &str) -> Result<(), String> {
    if found.eq_ignore_ascii_case(canonical) {
        Ok(())
    } else {
        Err(format!("expected \"{canonical}\" but found \"{found}\""))
    }
}

/// The subscription, group and name of `/subscriptions/…/providers/Microsoft.Compute/{kind}/{name}`.
fn parse_compute_segments<'a>(s: &[&'a str], kind: &str) -> Result<[&'a str; 3], String> {
    let [
        subscriptions,
        subscription,
        groups,
        group,
        providers,
        namespace,
        found_kind,
        name,
    ] = s
    else {
        return Err(format!("expected 8 path segments, found {}", s.len()));
    };
    expect_keyword(subscriptions, "subscriptions")?;
    expect_keyword(groups, "resourceGroups")?;
    expect_keyword(providers, "providers")?;
    expect_keyword(namespace, "Microsoft.Compute")?;
    expect_keyword(found_kind, kind)?;
    Ok([*subscription, *group, *name])
}

/// A VM's 8 segments, or a uniform scale set instance's 10.
fn parse_vm_segments(s: &[&str]) -> Result<VirtualMachineId, String> {
    if s.len() == 10 {
        let [subscription, group, scale_set] =
            parse_compute_segments(&s[..8], "virtualMachineScaleSets")?;
        expect_keyword(s[8], "virtualMachines")?;
        return Ok(ScaleSetId::new(subscription, group, scale_set).instance(s[9]));
    }
    let [subscription, group, name] = parse_compute_segments(s, "virtualMachines")?;
    Ok(VirtualMachineId::new(subscription, group, name))
}

impl fmt::Display for VirtualMachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scale_set() {
            Some(scale_set) => write!(f, "{scale_set}/virtualMachines/{}", self.name),
            None => write!(
                f,
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachines/{}",
                self.subscription_id, self.resource_group, self.name
            ),
        }
    }
}

impl fmt::Display for ScaleSetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

impl fmt::Display for ExtensionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/extensions/{}", self.vm, self.name)
    }
}

impl fmt::Display for ModelExtensionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/extensions/{}", self.scale_set, self.name)
    }
}

impl fmt::Display for ExtensionTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtensionTarget::Machine(id) => write!(f, "{id}"),
            ExtensionTarget::Model(id) => write!(f, "scale set model extension {id}"),
        }
    }
}

impl FromStr for VirtualMachineId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VirtualMachineId::parse(s)
    }
}

impl FromStr for ScaleSetId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScaleSetId::parse(s)
    }
}

impl FromStr for ExtensionId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExtensionId::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_keyword_casing_but_keeps_names() {
        let id = VirtualMachineId::parse(
            "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000001/resourcegroups/My-RG/PROVIDERS/microsoft.compute/VirtualMachines/WinVM01",
        )
        .expect("valid");
        assert_eq!(id.resource_group(), "My-RG");
        assert_eq!(id.name(), "WinVM01");
        assert_eq!(
            id.to_string(),
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/My-RG/providers/Microsoft.Compute/virtualMachines/WinVM01"
        );
    }

    #[test]
    fn extension_round_trip() {
        let s = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/enablevmaccess";
        let ext = ExtensionId::parse(s).expect("valid");
        assert_eq!(ext.to_string(), s);
        assert_eq!(ext.vm().name(), "vm");
        assert_eq!(ext.vm().extension("enablevmaccess"), ext);
        assert_eq!(
            ExtensionId::parse(&format!("{}/", s.to_uppercase()))
                .expect("valid")
                .name(),
            "ENABLEVMACCESS"
        );
    }

    #[test]
    fn printing_and_reparsing_is_a_fixed_point() {
        for s in [
            "/SUBSCRIPTIONS/s/RESOURCEGROUPS/My-RG/providers/microsoft.compute/virtualmachines/v/",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/my vm",
        ] {
            let id = VirtualMachineId::parse(s).expect("valid");
            assert_eq!(VirtualMachineId::parse(&id.to_string()), Ok(id.clone()));
            let ext = id.extension("VMAccessAgent");
            assert_eq!(ExtensionId::parse(&ext.to_string()), Ok(ext));
        }
        let e = ExtensionId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v/extensions/e /",
        )
        .expect_err("trailing space in the name");
        assert!(e.to_string().contains("whitespace"), "{e}");
    }

    #[test]
    fn scale_set_instances_and_their_extensions_round_trip() {
        let s = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/7";
        let id = VirtualMachineId::parse(&s.to_lowercase()).expect("valid");
        assert_eq!(id.to_string(), s);
        assert_eq!(id.name(), "7");
        let scale_set = id.scale_set().expect("an instance");
        assert_eq!(scale_set.name(), "web");
        assert_eq!(scale_set.instance("7"), id);
        assert_eq!(ScaleSetId::parse(&scale_set.to_string()), Ok(scale_set));
        let ext = id.extension("enablevmaccess");
        assert_eq!(ExtensionId::parse(&ext.to_string()), Ok(ext.clone()));
        assert_eq!(
            ext.path_segments().join("/"),
            "subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/7/extensions/enablevmaccess"
        );
        assert!(
            VirtualMachineId::parse(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v"
            )
            .expect("vm")
            .scale_set()
            .is_none()
        );
        for bad in [
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web/instances/7",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web/virtualMachines/7",
        ] {
            let e = VirtualMachineId::parse(bad).expect_err(bad);
            assert!(e.to_string().contains("for a scale set's instance"), "{e}");
        }
        let e = ScaleSetId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
        )
        .expect_err("a VM is no scale set");
        assert!(
            e.to_string()
                .contains("virtualMachineScaleSets/{scale_set_name}"),
            "{e}"
        );
    }

    #[test]
    fn rejects_invalid_ids_with_a_helpful_message() {
        for bad in [
            "",
            "subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualMachines/vm",
            "/subscriptions/s/resourceGroups//providers/Microsoft.Compute/virtualMachines/vm",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/x",
            // Issue 14: whitespace is refused wherever it is, never trimmed.
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v /",
            " /subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v\n",
            "/subscriptions/ s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
        ] {
            let e = VirtualMachineId::parse(bad).expect_err(bad);
            assert!(
                e.to_string()
                    .contains("A valid ID looks like /subscriptions/"),
                "{e}"
            );
        }
        let e = ExtensionId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extension/x",
        )
        .expect_err("bad keyword");
        assert!(
            e.to_string().contains("/extensions/{extension_name}"),
            "{e}"
        );
    }
}
