//! The typed `vm_access_reset` object and its `timeouts`: the rest of the resource reads and
//! writes these; the attribute names are the surface layer's constants.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::azure::OsType;
use crate::surface::attributes::{
    AUTO_UPGRADE_MINOR_VERSION, EXPIRATION, EXTENSION_NAME, FORCE_UPDATE_TAG, ID, LAST_RUN_AT,
    OS_TYPE, PASSWORD, PASSWORD_WO, PASSWORD_WO_VERSION, PROVISIONING_STATE,
    REMOVE_EXTENSION_ON_DESTROY, REMOVE_PRIOR_KEYS, RESET_SSH, SSH_PUBLIC_KEYS, TIMEOUTS, TRIGGERS,
    TYPE_HANDLER_VERSION, USERNAME, VIRTUAL_MACHINE_ID,
};
use crate::tfprotocol::timeouts::{self, Operation};
use crate::tfprotocol::{Diagnostics, Object, Value};

/// One `vm_access_reset` as Terraform holds it (configuration, plan or state). Attributes the
/// resource only passes through (`triggers`, `password_wo_version`, `ssh_public_keys`,
/// `timeouts`) keep their Terraform value.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub(crate) id: Option<String>,
    pub(crate) virtual_machine_id: Option<String>,
    /// `None` also for state written before Linux was supported, which is Windows.
    pub(crate) os_type: Option<OsType>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<SecretString>,
    /// Write-only: present in the configuration only, never written back.
    pub(crate) password_wo: Option<SecretString>,
    pub(crate) password_wo_version: Value,
    pub(crate) ssh_public_keys: Value,
    pub(crate) remove_prior_keys: Option<bool>,
    pub(crate) reset_ssh: Option<bool>,
    pub(crate) expiration: Option<String>,
    pub(crate) triggers: Value,
    pub(crate) extension_name: Option<String>,
    pub(crate) type_handler_version: Option<String>,
    pub(crate) auto_upgrade_minor_version: Option<bool>,
    pub(crate) remove_extension_on_destroy: Option<bool>,
    pub(crate) force_update_tag: Option<String>,
    pub(crate) provisioning_state: Option<String>,
    pub(crate) last_run_at: Option<String>,
    pub(crate) timeouts: Value,
}

impl Default for Model {
    /// All null.
    fn default() -> Model {
        Model::from_object(&Object::new())
    }
}

impl Model {
    /// Unknown values read as `None`: apply sets every attribute that can still be unknown.
    pub(crate) fn from_object(o: &Object) -> Model {
        let string = |name: &str| o.get_string(name).map(str::to_string);
        let secret = |name: &str| o.get_string(name).map(SecretString::from);
        Model {
            id: string(ID),
            virtual_machine_id: string(VIRTUAL_MACHINE_ID),
            os_type: o.get_string(OS_TYPE).and_then(OsType::parse),
            username: string(USERNAME),
            password: secret(PASSWORD),
            password_wo: secret(PASSWORD_WO),
            password_wo_version: o.get(PASSWORD_WO_VERSION).clone(),
            ssh_public_keys: o.get(SSH_PUBLIC_KEYS).clone(),
            remove_prior_keys: o.get_bool(REMOVE_PRIOR_KEYS),
            reset_ssh: o.get_bool(RESET_SSH),
            expiration: string(EXPIRATION),
            triggers: o.get(TRIGGERS).clone(),
            extension_name: string(EXTENSION_NAME),
            type_handler_version: string(TYPE_HANDLER_VERSION),
            auto_upgrade_minor_version: o.get_bool(AUTO_UPGRADE_MINOR_VERSION),
            remove_extension_on_destroy: o.get_bool(REMOVE_EXTENSION_ON_DESTROY),
            force_update_tag: string(FORCE_UPDATE_TAG),
            provisioning_state: string(PROVISIONING_STATE),
            last_run_at: string(LAST_RUN_AT),
            timeouts: o.get(TIMEOUTS).clone(),
        }
    }

    /// The object Terraform stores. `password_wo` is always null here.
    pub(crate) fn into_object(self) -> Object {
        let secret =
            |s: Option<SecretString>| Value::opt_string(s.map(|s| s.expose_secret().to_string()));
        let flag = |b: Option<bool>| b.map_or(Value::Null, Value::Bool);
        Object::new()
            .with(ID, Value::opt_string(self.id))
            .with(
                VIRTUAL_MACHINE_ID,
                Value::opt_string(self.virtual_machine_id),
            )
            .with(
                OS_TYPE,
                Value::opt_string(self.os_type.map(|os| os.as_str().to_string())),
            )
            .with(USERNAME, Value::opt_string(self.username))
            .with(PASSWORD, secret(self.password))
            .with(PASSWORD_WO, Value::Null)
            .with(PASSWORD_WO_VERSION, self.password_wo_version)
            .with(SSH_PUBLIC_KEYS, self.ssh_public_keys)
            .with(REMOVE_PRIOR_KEYS, flag(self.remove_prior_keys))
            .with(RESET_SSH, flag(self.reset_ssh))
            .with(EXPIRATION, Value::opt_string(self.expiration))
            .with(TRIGGERS, self.triggers)
            .with(EXTENSION_NAME, Value::opt_string(self.extension_name))
            .with(
                TYPE_HANDLER_VERSION,
                Value::opt_string(self.type_handler_version),
            )
            .with(
                AUTO_UPGRADE_MINOR_VERSION,
                flag(self.auto_upgrade_minor_version),
            )
            .with(
                REMOVE_EXTENSION_ON_DESTROY,
                flag(self.remove_extension_on_destroy),
            )
            .with(FORCE_UPDATE_TAG, Value::opt_string(self.force_update_tag))
            .with(
                PROVISIONING_STATE,
                Value::opt_string(self.provisioning_state),
            )
            .with(LAST_RUN_AT, Value::opt_string(self.last_run_at))
            .with(TIMEOUTS, self.timeouts)
    }

    /// The new password: `password`, else the write-only `password_wo`.
    pub(crate) fn new_password(&self) -> Option<SecretString> {
        self.password.clone().or_else(|| self.password_wo.clone())
    }
}

/// How long each operation may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) create: Duration,
    pub(crate) read: Duration,
    pub(crate) update: Duration,
    pub(crate) delete: Duration,
}

impl Timeouts {
    pub(crate) const DEFAULT: Timeouts = Timeouts {
        create: Duration::from_secs(30 * 60),
        read: Duration::from_secs(5 * 60),
        update: Duration::from_secs(30 * 60),
        delete: Duration::from_secs(30 * 60),
    };

    pub(crate) const fn table(&self) -> [(Operation, Duration); 4] {
        [
            (Operation::Create, self.create),
            (Operation::Read, self.read),
            (Operation::Update, self.update),
            (Operation::Delete, self.delete),
        ]
    }

    /// From a resource's `timeouts` block, defaults where unset; every bad value is named.
    pub(crate) fn from_object(resource: &Object) -> Result<Timeouts, Diagnostics> {
        let mut bad = Diagnostics::new();
        let [create, read, update, delete] = Timeouts::DEFAULT.table().map(|(op, default)| {
            timeouts::get(resource, op, default).unwrap_or_else(|d| {
                bad.push(d);
                default
            })
        });
        match bad.0.is_empty() {
            true => Ok(Timeouts {
                create,
                read,
                update,
                delete,
            }),
            false => Err(bad),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_fields_are_the_schema_attributes() {
        let schema = super::super::schema().block;
        let mut expected: Vec<&str> = schema.attributes.iter().map(|a| a.name.as_str()).collect();
        expected.extend(schema.blocks.iter().map(|b| b.type_name.as_str()));
        expected.sort_unstable();
        let object = Model::default().into_object();
        let actual: Vec<&str> = object.attrs.keys().map(String::as_str).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn round_trip_keeps_every_known_value() {
        let state = super::super::plan::tests::prior()
            .with("os_type", Value::string("Linux"))
            .with(
                "ssh_public_keys",
                Value::Set(vec![Value::string("ssh-ed25519 AAAA me")]),
            )
            .with("remove_prior_keys", Value::Bool(true))
            .with("reset_ssh", Value::Bool(false))
            .with("expiration", Value::string("2099-01-01"))
            .with("password", Value::string("Pw-123456789!"))
            .with("password_wo", Value::Null)
            .with(
                "triggers",
                Value::Map([("k".to_string(), Value::string("v"))].into()),
            )
            .with("extension_name", Value::string("VMAccessAgent"))
            .with(
                "timeouts",
                Object::new().with("create", Value::string("1h")).into(),
            );
        assert_eq!(Model::from_object(&state).into_object(), state);
    }

    #[test]
    fn timeouts_default_and_name_every_bad_value() {
        assert_eq!(
            Timeouts::from_object(&Object::new()).unwrap(),
            Timeouts::DEFAULT
        );
        let config = Object::new().with(
            "timeouts",
            Object::new()
                .with("read", Value::string("2m"))
                .with("create", Value::string("soon"))
                .with("delete", Value::string("later"))
                .into(),
        );
        assert_eq!(Timeouts::from_object(&config).unwrap_err().0.len(), 2);
        let config = Object::new().with(
            "timeouts",
            Object::new().with("read", Value::string("2m")).into(),
        );
        assert_eq!(
            Timeouts::from_object(&config).unwrap().read,
            Duration::from_secs(120)
        );
    }
}
