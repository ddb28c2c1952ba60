//! A seeded fleet for listing tests and the listing benchmark: VMs spread over resource groups,
//! Windows and Linux, with VMAccess extensions under both usual names and in both end states,
//! and other extensions beside them. Seeded in one request through `/_emulator/fleet`.

use serde_json::{Value, json};

/// What the fleet holds, for assertions.
pub struct Fleet {
    /// The `/_emulator/fleet` body.
    pub body: Value,
    /// Windows VMs with a VMAccess extension, as `(resource group, VM name)`, in list order.
    pub with_vmaccess: Vec<(String, String)>,
    pub windows: usize,
    pub linux: usize,
}

/// `groups` resource groups (`rg-00`…) of `per_group` VMs (`vm-000`…). A quarter are Linux
/// (some carrying the Linux VMAccess extension, which must be ignored); of the Windows VMs a
/// third have `VMAccessAgent` (Succeeded, last run for `ops`), a third `enablevmaccess`
/// (Remote Desktop only; every fifth VM Failed), a third none; every other VM also has a
/// monitoring agent.
pub fn fleet(groups: usize, per_group: usize) -> Fleet {
    let mut vms = Vec::new();
    let mut with_vmaccess = Vec::new();
    let (mut windows, mut linux) = (0, 0);
    for g in 0..groups {
        let rg = format!("rg-{g:02}");
        for v in 0..per_group {
            let name = format!("vm-{v:03}");
            let is_linux = v % 4 == 3;
            let mut extensions = json!({});
            if is_linux {
                linux += 1;
                if v % 3 == 0 {
                    extensions["enablevmaccess"] = json!({"publisher": "Microsoft.OSTCExtensions", "type": "VMAccessForLinux", "type_handler_version": "1.5"});
                }
            } else {
                windows += 1;
                match v % 3 {
                    0 => {
                        extensions["VMAccessAgent"] = json!({"settings": {"UserName": "ops"}});
                        with_vmaccess.push((rg.clone(), name.clone()));
                    }
                    1 => {
                        let state = if v % 5 == 0 { "Failed" } else { "Succeeded" };
                        extensions["enablevmaccess"] =
                            json!({"settings": {}, "provisioning_state": state});
                        with_vmaccess.push((rg.clone(), name.clone()));
                    }
                    _ => {}
                }
            }
            if v % 2 == 0 {
                extensions["MicrosoftMonitoringAgent"] = json!({"publisher": "Microsoft.EnterpriseCloud.Monitoring", "type": "MicrosoftMonitoringAgent", "type_handler_version": "1.0"});
            }
            vms.push(json!({
                "resource_group": rg,
                "name": name,
                "os_type": if is_linux { "Linux" } else { "Windows" },
                "extensions": extensions,
            }));
        }
    }
    Fleet {
        body: json!({ "vms": vms }),
        with_vmaccess,
        windows,
        linux,
    }
}
