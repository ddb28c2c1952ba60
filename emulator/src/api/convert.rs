//! Conversions between the admin API's bodies (`admin_messages`) and the model: seeds become
//! VMs, accounts and extensions; patches change them; views show them. The admin handlers,
//! the fleet endpoint and the start-up seed all go through here, so the model never needs to
//! know the admin API's types.

use crate::admin_messages::{
    AccountSeed, AccountView, ArmedFaultView, ExtensionPatch, ExtensionSeed, ExtensionView,
    LinuxGuestSeed, LinuxGuestView, LinuxUserView, SeededVm, VmPatch, VmSeed, VmView,
};
use crate::faults::FaultSet;
use crate::model::extension::{Extension, ExtensionConfig, ExtensionOptions, InstanceStatus};
use crate::model::linux_guest::{LinuxGuest, LinuxUser};
use crate::model::vm::{Account, Vm};
use crate::state::World;

/// What the agent's status says while it is not ready, unless the seed says otherwise.
const AGENT_NOT_READY: &str = "VM status blob not found.";

/// The status message of a seeded extension, unless the seed says otherwise.
const SEEDED_EXTENSION: &str = "Seeded by the emulator admin API.";

/// Applies one field of an out-of-band change: absent fields are left alone.
pub(crate) fn replace_if_some<T: Clone>(target: &mut T, change: &Option<T>) {
    if let Some(value) = change {
        *target = value.clone();
    }
}

fn account_from_seed(seed: &AccountSeed) -> Account {
    let mut account = Account::new(&seed.name, seed.administrator);
    account.enabled = seed.enabled;
    if let Some(password) = &seed.password {
        account.set_password(password);
    }
    account
}

/// A Linux guest as `seed` describes it; users without a uid get the next ones.
fn linux_guest_from_seed(seed: &LinuxGuestSeed) -> LinuxGuest {
    let mut guest = LinuxGuest {
        distro: seed.distro,
        uid_min: seed.uid_min,
        ssh: seed.ssh.clone(),
        provisioning_keys: seed.provisioning_keys,
        ..LinuxGuest::default()
    };
    for user_seed in &seed.users {
        let uid = user_seed.uid.unwrap_or_else(|| guest.next_uid());
        let mut user = LinuxUser::new(&user_seed.name, uid);
        if let Some(password) = &user_seed.password {
            user.set_password(password);
        }
        user.profile = user_seed.profile.clone();
        guest.users.push(user);
    }
    guest.created_with_password_logins = guest.password_authentication();
    guest
}

/// What the admin API shows of a Linux guest.
pub(crate) fn linux_guest_view(guest: &LinuxGuest) -> LinuxGuestView {
    LinuxGuestView {
        distro: guest.distro,
        uid_min: guest.uid_min,
        users: guest
            .users
            .iter()
            .map(|u| LinuxUserView {
                name: u.name.clone(),
                uid: u.uid,
                home: u.home(),
                has_password: u.password.is_some(),
                password_set_count: u.password_set_count,
                expired: u.expired(),
                profile: u.profile.clone(),
            })
            .collect(),
        ssh: guest.ssh.clone(),
        password_authentication: guest.password_authentication(),
        last_sequence_number: guest.last_sequence_number,
        last_log: guest.last_log.clone(),
    }
}

/// A new VM at `subscription/resource_group/name`, as `seed` describes it.
pub(crate) fn vm_from_seed(
    subscription: &str,
    resource_group: &str,
    name: &str,
    seed: &VmSeed,
) -> Vm {
    Vm {
        subscription: subscription.to_string(),
        resource_group: resource_group.to_string(),
        name: name.to_string(),
        vm_id: uuid::Uuid::new_v4().to_string(),
        location: seed.location.clone(),
        os_type: seed.os_type,
        power_state: seed.power_state,
        agent_ready: seed.agent_ready,
        agent_status_message: seed
            .agent_status_message
            .clone()
            .unwrap_or_else(|| AGENT_NOT_READY.into()),
        domain_controller: seed.domain_controller,
        password_min_length: seed.password_min_length,
        accounts: seed.accounts.iter().map(account_from_seed).collect(),
        rdp_enabled: seed.rdp_enabled,
        rdp_firewall_rule: seed.rdp_firewall_rule,
        vmaccess_runs: 0,
        linux: linux_guest_from_seed(seed.linux.as_ref().unwrap_or(&LinuxGuestSeed::default())),
        extensions: Default::default(),
        scale_set: None,
    }
}

/// Creates (or replaces) the VM of a seed file or fleet entry; its subscription defaults to
/// `default_subscription`. Fails when the resource group or name is empty.
pub(crate) fn insert_seeded<'w>(
    world: &'w mut World,
    default_subscription: &str,
    seeded: &SeededVm,
) -> Result<&'w mut Vm, String> {
    if seeded.name.is_empty() || seeded.resource_group.is_empty() {
        return Err("every VM needs a resource_group and a name".into());
    }
    let subscription = seeded
        .subscription
        .as_deref()
        .unwrap_or(default_subscription);
    let vm = vm_from_seed(
        subscription,
        &seeded.resource_group,
        &seeded.name,
        &seeded.vm,
    );
    let key = World::key(subscription, &seeded.resource_group, &seeded.name);
    Ok(world.vms.entry(key).insert_entry(vm).into_mut())
}

/// Applies an out-of-band change. Errors name the unknown account.
pub(crate) fn apply_patch(vm: &mut Vm, patch: &VmPatch) -> Result<(), String> {
    replace_if_some(&mut vm.os_type, &patch.os_type);
    replace_if_some(&mut vm.power_state, &patch.power_state);
    replace_if_some(&mut vm.agent_ready, &patch.agent_ready);
    replace_if_some(&mut vm.agent_status_message, &patch.agent_status_message);
    replace_if_some(&mut vm.domain_controller, &patch.domain_controller);
    replace_if_some(&mut vm.password_min_length, &patch.password_min_length);
    replace_if_some(&mut vm.rdp_enabled, &patch.rdp_enabled);
    replace_if_some(&mut vm.rdp_firewall_rule, &patch.rdp_firewall_rule);
    if let Some(seed) = &patch.add_account {
        if vm.account_mut(&seed.name).is_some() {
            return Err(format!("account '{}' already exists", seed.name));
        }
        vm.accounts.push(account_from_seed(seed));
    }
    let missing = |n: &str| format!("no account named '{n}'");
    if let Some(name) = &patch.disable_account {
        vm.account_mut(name).ok_or_else(|| missing(name))?.enabled = false;
    }
    if let Some(name) = &patch.enable_account {
        vm.account_mut(name).ok_or_else(|| missing(name))?.enabled = true;
    }
    if let Some(creds) = &patch.set_password {
        vm.account_mut(&creds.username)
            .ok_or_else(|| missing(&creds.username))?
            .set_password(&creds.password);
    }
    if let Some(name) = &patch.delete_account {
        let before = vm.accounts.len();
        vm.accounts.retain(|a| !a.name.eq_ignore_ascii_case(name));
        if before == vm.accounts.len() {
            return Err(missing(name));
        }
    }
    Ok(())
}

/// A status at `state` (`Failed` is an error, anything else a success) with `message`.
fn status_for(state: &str, message: &str) -> InstanceStatus {
    if state.eq_ignore_ascii_case("Failed") {
        InstanceStatus::failed(message)
    } else {
        InstanceStatus::succeeded(message)
    }
}

/// The extension as a finished earlier deployment would have left it.
pub(crate) fn extension_from_seed(seed: ExtensionSeed, name: &str, location: &str) -> Extension {
    let message = seed
        .status_message
        .clone()
        .unwrap_or_else(|| SEEDED_EXTENSION.into());
    Extension {
        name: name.to_string(),
        config: ExtensionConfig {
            location: location.to_string(),
            tags: None,
            publisher: seed.publisher,
            extension_type: seed.extension_type,
            type_handler_version: seed.type_handler_version,
            options: ExtensionOptions {
                auto_upgrade_minor_version: seed.auto_upgrade_minor_version.or(Some(true)),
                force_update_tag: seed.force_update_tag,
                settings: seed.settings,
                protected_settings: seed.protected_settings,
                ..ExtensionOptions::default()
            },
        },
        statuses: vec![status_for(&seed.provisioning_state, &message)],
        substatuses: Vec::new(),
        provisioning_state: seed.provisioning_state,
    }
}

/// Applies an out-of-band change to an extension; a status message replaces the status, at
/// the (new) provisioning state.
pub(crate) fn apply_extension_patch(extension: &mut Extension, patch: ExtensionPatch) {
    let options = &mut extension.config.options;
    replace_if_some(&mut extension.provisioning_state, &patch.provisioning_state);
    replace_if_some(
        &mut options.force_update_tag,
        &patch.force_update_tag.map(Some),
    );
    replace_if_some(&mut options.settings, &patch.settings.map(Some));
    if let Some(message) = patch.status_message {
        extension.statuses = vec![status_for(&extension.provisioning_state, &message)];
    }
}

/// What the admin API shows of a VM.
pub(crate) fn vm_view(vm: &Vm) -> VmView {
    VmView {
        id: vm.id(),
        name: vm.name.clone(),
        location: vm.location.clone(),
        os_type: vm.os_type,
        power_state: vm.power_state,
        agent_ready: vm.agent_ready,
        domain_controller: vm.domain_controller,
        accounts: vm
            .accounts
            .iter()
            .map(|a| AccountView {
                name: a.name.clone(),
                enabled: a.enabled,
                administrator: a.administrator,
                password_set_count: a.password_set_count,
            })
            .collect(),
        rdp_enabled: vm.rdp_enabled,
        rdp_firewall_rule: vm.rdp_firewall_rule,
        vmaccess_runs: vm.vmaccess_runs,
        extensions: vm.extensions.values().map(extension_view).collect(),
    }
}

/// What the admin API shows of an extension: never its protected settings.
pub(crate) fn extension_view(extension: &Extension) -> ExtensionView {
    let config = &extension.config;
    ExtensionView {
        name: extension.name.clone(),
        publisher: config.publisher.clone(),
        extension_type: config.extension_type.clone(),
        type_handler_version: config.type_handler_version.clone(),
        force_update_tag: config.options.force_update_tag.clone(),
        provisioning_state: extension.provisioning_state.clone(),
        settings: config.options.settings.clone(),
        status_message: extension.statuses.first().and_then(|s| s.message.clone()),
    }
}

/// The armed faults as `GET /_emulator/faults` lists them.
pub(crate) fn armed_faults(faults: &FaultSet) -> Vec<ArmedFaultView> {
    faults
        .armed()
        .iter()
        .map(|f| ArmedFaultView {
            id: f.id.clone(),
            spec: f.spec.clone(),
            remaining: f.remaining,
        })
        .collect()
}
