//! The names of the attributes of `vm_access_reset` (resource, action and list result), once:
//! schemas, typed models, validation and diagnostics name an attribute through these.

/// The VM to run VMAccess on (resource and action).
pub(crate) const VIRTUAL_MACHINE_ID: &str = "virtual_machine_id";
/// The account to reset (resource and action).
pub(crate) const USERNAME: &str = "username";
/// The new password: sensitive on the resource, write-only on the action.
pub(crate) const PASSWORD: &str = "password";
/// The extension resource's name on the VM (resource and action).
pub(crate) const EXTENSION_NAME: &str = "extension_name";
/// The VMAccess handler version (resource and action).
pub(crate) const TYPE_HANDLER_VERSION: &str = "type_handler_version";

/// The VM's OS as read from Azure (`Windows` or `Linux`), which picks the extension.
pub(crate) const OS_TYPE: &str = "os_type";
/// Linux: OpenSSH public keys for the account's `authorized_keys`.
pub(crate) const SSH_PUBLIC_KEYS: &str = "ssh_public_keys";
/// Linux: replace the account's `authorized_keys` instead of appending.
pub(crate) const REMOVE_PRIOR_KEYS: &str = "remove_prior_keys";
/// Linux: restore the distribution's default `sshd_config`.
pub(crate) const RESET_SSH: &str = "reset_ssh";
/// Linux: the expiry date of an account the run creates.
pub(crate) const EXPIRATION: &str = "expiration";
/// Linux, action only: the account to delete.
pub(crate) const REMOVE_USER: &str = "remove_user";

/// The resource's ARM ID of the extension.
pub(crate) const ID: &str = "id";
/// The resource's write-only password.
pub(crate) const PASSWORD_WO: &str = "password_wo";
/// Bumped to rerun with the current `password_wo`.
pub(crate) const PASSWORD_WO_VERSION: &str = "password_wo_version";
/// Arbitrary values whose change reruns the extension.
pub(crate) const TRIGGERS: &str = "triggers";
/// Whether Azure may use a newer minor handler version.
pub(crate) const AUTO_UPGRADE_MINOR_VERSION: &str = "auto_upgrade_minor_version";
/// Whether destroying the resource removes the extension.
pub(crate) const REMOVE_EXTENSION_ON_DESTROY: &str = "remove_extension_on_destroy";
/// The tag of the resource's last run.
pub(crate) const FORCE_UPDATE_TAG: &str = "force_update_tag";
/// The extension's provisioning state as last read.
pub(crate) const PROVISIONING_STATE: &str = "provisioning_state";
/// When the resource last ran the extension.
pub(crate) const LAST_RUN_AT: &str = "last_run_at";
/// The resource's `timeouts` block.
pub(crate) const TIMEOUTS: &str = "timeouts";

/// Whether the action removes the extension after a successful run.
pub(crate) const REMOVE_EXTENSION_AFTER_SUCCESS: &str = "remove_extension_after_success";
/// How long the action waits.
pub(crate) const TIMEOUT: &str = "timeout";

/// The scale set to reset (`vm_scale_set_access_reset`).
pub(crate) const VIRTUAL_MACHINE_SCALE_SET_ID: &str = "virtual_machine_scale_set_id";
/// How many instances run at once.
pub(crate) const MAX_PARALLEL_INSTANCES: &str = "max_parallel_instances";
/// Opt-in: also set the scale set model's access extension.
pub(crate) const UPDATE_MODEL: &str = "update_model";
/// The scale set's orchestration mode as read from Azure.
pub(crate) const ORCHESTRATION_MODE: &str = "orchestration_mode";
/// The per-instance results of the last run.
pub(crate) const INSTANCES: &str = "instances";
