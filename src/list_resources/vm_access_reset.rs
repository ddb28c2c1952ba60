//! The `vm_access_reset` list resource (`terraform query`, Terraform 1.14+): finds the VMs of a
//! subscription that have a VMAccess extension (or every VM of the OS asked for) through fleet discovery
//! (`crate::vmaccess::discovery`), with the instances of uniform scale sets when asked, and hands each back as a `vm_access_reset` to import — its
//! identity, a display name to scan, and, when asked, the object an import would store.
//!
//! Reads top-down: schema, validation, the listing loop, then how one VM becomes one result.

use std::sync::Arc;

use futures_util::StreamExt;

use crate::azure::{OsType, VirtualMachineId};
use crate::resources::vm_access_reset::{self as resource, identity};
use crate::runtime::Runtime;
use crate::surface;
use crate::surface::diagnostics::discovery_error;
use crate::tfprotocol::{
    Attribute, Block, Diagnostic, Diagnostics, ListRequest, ListResource, ListResult, ListSink,
    Object, Schema, Type, Value,
};
use crate::vmaccess::discovery::{
    DiscoveredVm, DiscoveryMode, DiscoveryRequest, VmAccessExtension, discover,
};

const SUBSCRIPTION_ID: &str = "subscription_id";
const RESOURCE_GROUP_NAMES: &str = "resource_group_names";
const NAME_FILTERS: &str = "name_filters";
const INCLUDE_WITHOUT_EXTENSION: &str = "include_vms_without_extension";
const OS_TYPE: &str = "os_type";
const INCLUDE_SCALE_SET_INSTANCES: &str = "include_scale_set_instances";

pub(crate) struct VmAccessResetList {
    runtime: Arc<Runtime>,
}

impl VmAccessResetList {
    pub(crate) fn new(runtime: Arc<Runtime>) -> VmAccessResetList {
        VmAccessResetList { runtime }
    }
}

/// The `list` block's `config`: where to look and what to report.
pub fn schema() -> Schema {
    let block = Block::new(
        "Finds Azure VMs whose access was reset with their VMAccess extension — `VMAccessAgent` on Windows, \
         `VMAccessForLinux` on Linux — by the portal, the Azure CLI, PowerShell or another tool, so they can be imported as \
         `vm_access_reset` resources. With `include_vms_without_extension`, every VM is listed, so each can be brought under \
         Terraform. `os_type` narrows the search to one OS.",
    )
    .attribute(Attribute::string(SUBSCRIPTION_ID).optional().description(
        "The subscription to search. Defaults to the provider's `subscription_id`.",
    ))
    .attribute(
        Attribute::new(RESOURCE_GROUP_NAMES, Type::list(Type::String))
            .optional()
            .description(
                "Search only these resource groups (names are case-insensitive). Leave out to search the whole \
                 subscription.",
            ),
    )
    .attribute(
        Attribute::new(NAME_FILTERS, Type::list(Type::String))
            .optional()
            .description(
                "List only VMs whose name matches one of these case-insensitive patterns: `*` matches any run of \
                 characters, `?` one character (for example `web-*`, `sql-0?`). Leave out to list every name.",
            ),
    )
    .attribute(Attribute::string(OS_TYPE).optional().description(
        "List only VMs running this OS, `Windows` or `Linux`. Leave out to list both.",
    ))
    .attribute(Attribute::bool(INCLUDE_WITHOUT_EXTENSION).optional().description(
        "Also list VMs that have no VMAccess extension yet. Their identity has a null `extension_name`; importing one adopts \
         the VM, and the first apply runs the extension once the configuration says what to reset (on Windows, with no \
         `username`, a Remote Desktop reset). Defaults to `false`.",
    ))
    .attribute(Attribute::bool(INCLUDE_SCALE_SET_INSTANCES).optional().description(
        "Also list the instances of uniform VM scale sets, after the VMs of each subscription or resource group searched; \
         the other options apply to them too (`name_filters` match an instance's name, `{scale set}_{instance ID}`). Their \
         identity names the scale set in `virtual_machine_scale_set_name` and the instance ID in `virtual_machine_name`. A \
         flexible scale set's instances are ordinary VMs, listed without this option. Costs one list of scale sets per \
         subscription or resource group and one paged list of instances per uniform scale set. Defaults to `false`.",
    ));
    Schema { version: 0, block }
}

#[async_trait::async_trait]
impl ListResource for VmAccessResetList {
    fn validate(&self, config: &Object) -> Diagnostics {
        match Filters::from_config(config) {
            Ok(_) => Diagnostics::new(),
            Err(d) => d,
        }
    }

    async fn list(&self, request: ListRequest, results: ListSink) -> Diagnostics {
        if request.limit <= 0 {
            return Diagnostics::new();
        }
        let filters = match Filters::from_config(&request.config) {
            Ok(f) => f,
            Err(d) => return d,
        };
        let subscription_id = match filters
            .subscription_id
            .or_else(|| self.runtime.subscription_id())
        {
            Some(s) => s,
            None => {
                return Diagnostic::error(
                    "No subscription to search",
                    "Set `subscription_id` in the list block's `config`, or the provider's `subscription_id` \
                     (ARM_SUBSCRIPTION_ID).",
                )
                .into();
            }
        };
        let reader = match surface::fleet_reader(&self.runtime) {
            Ok(r) => r,
            Err(d) => return d.into(),
        };
        let discovery = DiscoveryRequest {
            resource_groups: filters.resource_groups,
            name_filters: filters.name_filters,
            mode: filters.mode,
            os: filters.os,
            include_scale_set_instances: filters.include_scale_set_instances,
            limit: usize::try_from(request.limit).ok(),
            ..DiscoveryRequest::new(subscription_id)
        };
        let mut found = match discover(reader, discovery, self.runtime.stop_token()) {
            Ok(found) => found,
            Err(e) => return discovery_error(&e).into(),
        };
        loop {
            // Terraform closes the stream once it has `limit` results; dropping `found` then
            // aborts the reads still in flight.
            let next = tokio::select! {
                next = found.next() => next,
                () = results.closed() => return Diagnostics::new(),
            };
            match next {
                None => return Diagnostics::new(),
                Some(Err(e)) => return discovery_error(&e).into(),
                Some(Ok(vm)) => {
                    let result = list_result(&vm, request.include_resource_object);
                    if results.send(result).await.is_err() {
                        return Diagnostics::new();
                    }
                }
            }
        }
    }
}

/// The `config` block, checked.
struct Filters {
    subscription_id: Option<String>,
    resource_groups: Vec<String>,
    name_filters: Vec<String>,
    mode: DiscoveryMode,
    os: Option<OsType>,
    include_scale_set_instances: bool,
}

impl Filters {
    /// Unknown values (possible at validation) pass; they are checked again when listing.
    fn from_config(config: &Object) -> Result<Filters, Diagnostics> {
        let mut diags = Diagnostics::new();
        let subscription_id = config.get_string(SUBSCRIPTION_ID).map(str::to_string);
        if let Some(s) = &subscription_id
            && (s.trim().is_empty() || s.contains('/'))
        {
            diags.push(
                Diagnostic::error(
                    "Invalid subscription_id",
                    format!("{s:?} is not a subscription ID: give the bare ID (a GUID), or leave it out to use the provider's."),
                )
                .at_attr(SUBSCRIPTION_ID),
            );
        }
        let resource_groups = strings(config, RESOURCE_GROUP_NAMES, &mut diags, |g| {
            (g.trim().is_empty() || g.contains('/') || g.trim() != g)
                .then(|| format!("{g:?} is not a resource group name: give the bare name, without slashes or surrounding spaces."))
        });
        let name_filters = strings(config, NAME_FILTERS, &mut diags, |f| {
            f.trim().is_empty().then(|| {
                "An empty pattern matches no VM: remove it, or use `*` to match every name."
                    .to_string()
            })
        });
        let mode = match config.get_bool(INCLUDE_WITHOUT_EXTENSION) {
            Some(true) => DiscoveryMode::All,
            _ => DiscoveryMode::WithVmAccess,
        };
        let os = config.get_string(OS_TYPE).and_then(|text| {
            let os = OsType::parse(text);
            if os.is_none() {
                diags.push(
                    Diagnostic::error(
                        "Invalid os_type",
                        format!("{text:?} is not an OS: write \"Windows\" or \"Linux\", or leave `os_type` out to list both."),
                    )
                    .at_attr(OS_TYPE),
                );
            }
            os
        });
        let include_scale_set_instances =
            config.get_bool(INCLUDE_SCALE_SET_INSTANCES) == Some(true);
        match diags.has_errors() {
            true => Err(diags),
            false => Ok(Filters {
                subscription_id,
                resource_groups,
                name_filters,
                mode,
                os,
                include_scale_set_instances,
            }),
        }
    }
}

/// The known strings of a list attribute; `problem` names a bad element.
fn strings(
    config: &Object,
    attr: &str,
    diags: &mut Diagnostics,
    problem: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let Value::List(items) = config.get(attr).concrete() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = crate::tfprotocol::AttributePath::attr(attr).then_index(i as i64);
        match item.concrete() {
            Value::String(s) => match problem(s) {
                Some(p) => {
                    diags.push(Diagnostic::error(format!("Invalid `{attr}` element"), p).at(path))
                }
                None => out.push(s.clone()),
            },
            Value::Null => diags.push(
                Diagnostic::error(
                    format!("Invalid `{attr}` element"),
                    format!("`{attr}` cannot hold null."),
                )
                .at(path),
            ),
            _ => {} // unknown: checked when listing
        }
    }
    out
}

/// One VM found: the identity of its VMAccess extension (or, without one, of the VM with a null
/// `extension_name`), a display name, and the object an import would store.
fn list_result(vm: &DiscoveredVm, include_resource_object: bool) -> ListResult {
    let (identity, resource_object) = match &vm.vmaccess {
        Some(ext) => {
            let id = vm.id.extension(ext.name.clone());
            let object =
                include_resource_object.then(|| resource::adopted(&id, ext.into(), vm.os).0);
            (identity::of_extension(&id), object)
        }
        None => (
            identity::of_vm(&vm.id),
            include_resource_object.then(|| resource::awaiting_first_run(&vm.id, vm.os).0),
        ),
    };
    ListResult {
        identity,
        display_name: display_name(&vm.id, vm.os, vm.vmaccess.as_ref()),
        resource_object,
        diagnostics: Diagnostics::new(),
    }
}

/// `rg-web/web01: enablevmaccess (Succeeded), last reset opsadmin`; on Linux, whose user name
/// Azure never shows, `rg-app/app01: enablevmaccess (Succeeded), Linux`; a uniform scale set's
/// instance by its ARM name, `rg-web/vmss-web_3: …`.
fn display_name(vm: &VirtualMachineId, os: OsType, ext: Option<&VmAccessExtension>) -> String {
    let what = match (ext, os) {
        (None, OsType::Windows) => "no VMAccess extension".to_string(),
        (None, OsType::Linux) => "no VMAccess extension, Linux".to_string(),
        (Some(ext), OsType::Linux) => format!("{} ({}), Linux", ext.name, ext.provisioning_state),
        (Some(ext), OsType::Windows) => {
            let user = match &ext.username {
                Some(u) => format!("last reset {u}"),
                None => "Remote Desktop reset only".to_string(),
            };
            format!("{} ({}), {user}", ext.name, ext.provisioning_state)
        }
    };
    match vm.scale_set() {
        Some(scale_set) => format!(
            "{}/{}_{}: {what}",
            vm.resource_group(),
            scale_set.name(),
            vm.name()
        ),
        None => format!("{}/{}: {what}", vm.resource_group(), vm.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfprotocol::AttributePath;

    fn vm() -> VirtualMachineId {
        VirtualMachineId::new("s1".to_string(), "rg-web".to_string(), "web01".to_string())
    }

    fn instance() -> VirtualMachineId {
        crate::azure::ScaleSetId::new("s1", "rg-web", "vmss-web").instance("3")
    }

    fn ext(username: Option<&str>, state: &str) -> VmAccessExtension {
        VmAccessExtension {
            name: "enablevmaccess".into(),
            provisioning_state: state.into(),
            username: username.map(str::to_string),
            type_handler_version: "2.4".into(),
            auto_upgrade_minor_version: true,
            force_update_tag: Some("tag-1".into()),
        }
    }

    #[test]
    fn display_names_say_where_what_and_who() {
        assert_eq!(
            display_name(
                &vm(),
                OsType::Windows,
                Some(&ext(Some("opsadmin"), "Succeeded"))
            ),
            "rg-web/web01: enablevmaccess (Succeeded), last reset opsadmin"
        );
        assert_eq!(
            display_name(&vm(), OsType::Windows, Some(&ext(None, "Failed"))),
            "rg-web/web01: enablevmaccess (Failed), Remote Desktop reset only"
        );
        assert_eq!(
            display_name(&vm(), OsType::Windows, None),
            "rg-web/web01: no VMAccess extension"
        );
        assert_eq!(
            display_name(&vm(), OsType::Linux, Some(&ext(None, "Succeeded"))),
            "rg-web/web01: enablevmaccess (Succeeded), Linux"
        );
        assert_eq!(
            display_name(&vm(), OsType::Linux, None),
            "rg-web/web01: no VMAccess extension, Linux"
        );
        assert_eq!(
            display_name(&instance(), OsType::Linux, None),
            "rg-web/vmss-web_3: no VMAccess extension, Linux"
        );
    }

    #[test]
    fn a_uniform_instance_has_an_identity_naming_its_scale_set() {
        let found = DiscoveredVm {
            id: instance(),
            os: OsType::Windows,
            vmaccess: Some(ext(Some("opsadmin"), "Succeeded")),
        };
        let result = list_result(&found, true);
        let of = |attr| result.identity.get_string(attr).map(str::to_owned);
        assert_eq!(
            (
                of(identity::VIRTUAL_MACHINE_SCALE_SET_NAME),
                of(identity::VIRTUAL_MACHINE_NAME),
                of(identity::EXTENSION_NAME)
            ),
            (
                Some("vmss-web".into()),
                Some("3".into()),
                Some("enablevmaccess".into())
            )
        );
        let object = result.resource_object.expect("asked for");
        assert_eq!(
            object.get_string("virtual_machine_id"),
            Some(instance().to_string().as_str())
        );
        let bare = list_result(
            &DiscoveredVm {
                vmaccess: None,
                ..found
            },
            false,
        );
        assert_eq!(
            bare.identity
                .get_string(identity::VIRTUAL_MACHINE_SCALE_SET_NAME),
            Some("vmss-web")
        );
        assert!(bare.identity.is_null(identity::EXTENSION_NAME));
        // A VM's identity has the attribute, null.
        let vm_result = list_result(
            &DiscoveredVm {
                id: vm(),
                os: OsType::Windows,
                vmaccess: None,
            },
            false,
        );
        assert!(
            vm_result
                .identity
                .is_null(identity::VIRTUAL_MACHINE_SCALE_SET_NAME)
        );
    }

    #[test]
    fn results_carry_identity_and_an_object_without_secrets() {
        let found = DiscoveredVm {
            id: vm(),
            os: crate::azure::OsType::Windows,
            vmaccess: Some(ext(Some("opsadmin"), "Succeeded")),
        };
        let result = list_result(&found, true);
        assert_eq!(
            result.identity.get_string(identity::EXTENSION_NAME),
            Some("enablevmaccess")
        );
        let object = result.resource_object.expect("asked for");
        assert_eq!(object.get_string("username"), Some("opsadmin"));
        assert!(object.is_null("password") && object.is_null("password_wo"));
        assert_eq!(object.get_string("force_update_tag"), Some("tag-1"));
        assert!(list_result(&found, false).resource_object.is_none());

        let bare = DiscoveredVm {
            vmaccess: None,
            ..found
        };
        let result = list_result(&bare, true);
        assert!(result.identity.is_null(identity::EXTENSION_NAME));
        assert_eq!(
            result.identity.get_string(identity::VIRTUAL_MACHINE_NAME),
            Some("web01")
        );
        let object = result.resource_object.expect("asked for");
        assert_eq!(object.get_string("extension_name"), Some("VMAccessAgent"));
        assert!(object.is_null("provisioning_state"));
    }

    #[test]
    fn bad_filters_are_named_and_unknowns_pass() {
        let config = Object::new()
            .with(
                RESOURCE_GROUP_NAMES,
                Value::List(vec![Value::string("ok"), Value::string("a/b")]),
            )
            .with(
                NAME_FILTERS,
                Value::List(vec![Value::Unknown, Value::string(" ")]),
            );
        let Err(diags) = Filters::from_config(&config) else {
            panic!("errors")
        };
        let paths: Vec<_> = diags.iter().filter_map(|d| d.path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                AttributePath::attr(RESOURCE_GROUP_NAMES).then_index(1),
                AttributePath::attr(NAME_FILTERS).then_index(1)
            ]
        );
        let config = Object::new()
            .with(RESOURCE_GROUP_NAMES, Value::Unknown)
            .with(INCLUDE_WITHOUT_EXTENSION, Value::Bool(true));
        let Ok(filters) = Filters::from_config(&config) else {
            panic!("valid")
        };
        assert_eq!(filters.mode, DiscoveryMode::All);
        assert_eq!(filters.os, None, "both OSes by default");
        assert!(!filters.include_scale_set_instances, "off by default");
        let config = Object::new().with(INCLUDE_SCALE_SET_INSTANCES, Value::Bool(true));
        let Ok(filters) = Filters::from_config(&config) else {
            panic!("valid")
        };
        assert!(filters.include_scale_set_instances);
        assert!(filters.resource_groups.is_empty());
    }
}
