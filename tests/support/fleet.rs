//! A seeded fleet for listing tests and the listing benchmark: VMs spread over resource groups,
//! Windows and Linux, with VMAccess extensions under both usual names and in both end states,
//! and other extensions beside them. Seeded in one request through `/_emulator/fleet`.

use serde_json::json;
use vm_emulator::OsType;
use vm_emulator::admin::{ExtensionSeed, Fleet as FleetBody, FleetVm};

use crate::azure_emulator::AzureEmulator;

/// What the fleet holds, for assertions.
pub struct Fleet {
    /// What to seed ([`crate::azure_emulator::AzureEmulator::seed_fleet`]).
    pub body: FleetBody,
    /// VMs with the VMAccess extension of their OS (`VMAccessAgent` on Windows,
    /// `VMAccessForLinux` on Linux), as `(resource group, VM name)`, in list order.
    pub with_vmaccess: Vec<(String, String)>,
    /// How many of the VMs run Windows.
    pub windows: usize,
    /// How many of the VMs run Linux.
    pub linux: usize,
}

/// [`fleet`] seeded in `emu`, whose VM lists have `page_size` VMs a page.
pub async fn seeded_fleet(
    emu: &AzureEmulator,
    groups: usize,
    per_group: usize,
    page_size: usize,
) -> Fleet {
    let fleet = fleet(groups, per_group);
    emu.seed_fleet(&fleet.body).await;
    emu.set_list_page_size(page_size).await;
    fleet
}

/// `groups` resource groups (`rg-00`…) of `per_group` VMs (`vm-000`…). A quarter are Linux
/// (a third of them carrying `VMAccessForLinux` as `enablevmaccess`); of the Windows VMs a
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
            let os_type = if is_linux {
                OsType::Linux
            } else {
                OsType::Windows
            };
            let mut vm = FleetVm::new(&rg, &name, os_type);
            let extensions = &mut vm.extensions;
            if is_linux {
                linux += 1;
                if v % 3 == 0 {
                    let linux_vmaccess =
                        ExtensionSeed::of("Microsoft.OSTCExtensions", "VMAccessForLinux", "1.5");
                    extensions.insert("enablevmaccess".to_string(), linux_vmaccess);
                    with_vmaccess.push((rg.clone(), name.clone()));
                }
            } else {
                windows += 1;
                match v % 3 {
                    0 => {
                        let seed = ExtensionSeed {
                            settings: Some(json!({"UserName": "ops"})),
                            ..ExtensionSeed::default()
                        };
                        extensions.insert("VMAccessAgent".to_string(), seed);
                        with_vmaccess.push((rg.clone(), name.clone()));
                    }
                    1 => {
                        let state = if v % 5 == 0 { "Failed" } else { "Succeeded" };
                        let seed = ExtensionSeed {
                            settings: Some(json!({})),
                            provisioning_state: state.into(),
                            ..ExtensionSeed::default()
                        };
                        extensions.insert("enablevmaccess".to_string(), seed);
                        with_vmaccess.push((rg.clone(), name.clone()));
                    }
                    _ => {}
                }
            }
            if v % 2 == 0 {
                let monitoring = ExtensionSeed::of(
                    "Microsoft.EnterpriseCloud.Monitoring",
                    "MicrosoftMonitoringAgent",
                    "1.0",
                );
                extensions.insert("MicrosoftMonitoringAgent".to_string(), monitoring);
            }
            vms.push(vm);
        }
    }
    Fleet {
        body: FleetBody { vms },
        with_vmaccess,
        windows,
        linux,
    }
}
