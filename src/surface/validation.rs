//! Plan-time checks of what the user typed, for every surface that runs VMAccess: Azure's rules
//! for local accounts on Windows and on Linux, the account rules (a user name needs a password or
//! a key, a password needs a user name), the Linux-only settings, and the target of a run.
//! Messages say what is wrong and how to fix it, and never repeat a password.
//!
//! Before the VM's OS is known (`terraform validate`, or a VM created in the same apply) only
//! what neither OS accepts is an error; once a plan has read the VM, [`for_os`] applies its OS's
//! own rules.

mod linux;

use crate::azure::{OsType, VirtualMachineId};
use crate::tfprotocol::timeouts::{MAX_TIMEOUT, format_duration, parse_duration};
use crate::tfprotocol::{Diagnostic, Diagnostics, Object};

use super::attributes::{
    EXPIRATION, PASSWORD, PASSWORD_WO, PASSWORD_WO_VERSION, REMOVE_PRIOR_KEYS, REMOVE_USER,
    RESET_SSH, SSH_PUBLIC_KEYS, TYPE_HANDLER_VERSION, USERNAME, VIRTUAL_MACHINE_ID,
};

pub(crate) use linux::linux_settings;

/// Characters Windows does not allow in a local user name.
const FORBIDDEN_USERNAME_CHARS: &[char] = &[
    '\\', '/', '"', '[', ']', ':', '|', '<', '>', '+', '=', ';', ',', '?', '*', '@',
];

/// Passwords Azure refuses whatever their complexity.
const DISALLOWED_PASSWORDS: &[&str] = &[
    "abc@123",
    "iloveyou!",
    "P@$$w0rd",
    "P@ssw0rd",
    "P@ssword123",
    "Pa$$word",
    "pass@word1",
    "Password!",
    "Password1",
    "Password22",
];

/// Azure's length limits for a password, by OS.
const fn password_limits(os: OsType) -> (usize, usize) {
    match os {
        OsType::Windows => (8, 123),
        OsType::Linux => (6, 72),
    }
}
pub(crate) const PASSWORD_RECOMMENDED_MIN: usize = 12;
/// The longest Linux user name `useradd` accepts.
const LINUX_USERNAME_MAX: usize = 32;

fn windows_username_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > 20 {
        return Some(format!(
            "A Windows user name has 1 to 20 characters; this one has {len}."
        ));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN_USERNAME_CHARS.contains(c)) {
        return Some(format!(
            "The user name contains {c:?}. Windows user names cannot contain any of \\ / \" [ ] : | < > + = ; , ? * @"
        ));
    }
    if name.ends_with('.') {
        return Some("A Windows user name cannot end with a period.".to_string());
    }
    if name.chars().all(|c| c == ' ' || c == '.') {
        return Some("A Windows user name cannot consist only of spaces and periods.".to_string());
    }
    None
}

fn linux_username_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > LINUX_USERNAME_MAX {
        return Some(format!(
            "A Linux user name has 1 to {LINUX_USERNAME_MAX} characters; this one has {len}."
        ));
    }
    let starts_well = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !starts_well || !rest_ok {
        return Some(
            "A Linux user name starts with a lower-case letter or `_` and has only lower-case letters, digits, `_` and \
             `-`."
                .to_string(),
        );
    }
    if name == "root" {
        return Some(
            "VMAccessForLinux refuses system accounts such as root (uid below UID_MIN); reset an ordinary account and \
             use sudo."
                .to_string(),
        );
    }
    None
}

/// What is wrong with a local user name on `os` (`None`: on both, when the OS is not known yet).
pub(crate) fn username_problem(name: &str, os: Option<OsType>) -> Option<String> {
    match os {
        Some(OsType::Windows) => windows_username_problem(name),
        Some(OsType::Linux) => linux_username_problem(name),
        None => match (windows_username_problem(name), linux_username_problem(name)) {
            (Some(windows), Some(linux)) => Some(format!("{windows} On Linux: {linux}")),
            _ => None,
        },
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PasswordCheck {
    Ok,
    /// Azure accepts it, but the portal would not.
    Weak(String),
    Rejected(String),
}

/// Azure's rules for a local password on `os`: 8–123 characters on Windows, 6–72 on Linux, three
/// of the four character classes, not on the deny list.
fn check_password_on(password: &str, os: OsType) -> PasswordCheck {
    let len = password.chars().count();
    let (min, max) = password_limits(os);
    if !(min..=max).contains(&len) {
        return PasswordCheck::Rejected(format!(
            "Azure requires {min} to {max} characters for a {os} password; this one has {len}."
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|&&present| present).count() < 3 {
        return PasswordCheck::Rejected(
            "The password must contain at least three of: a lower-case letter, an upper-case letter, a digit, a special character."
                .to_string(),
        );
    }
    if DISALLOWED_PASSWORDS.contains(&password) {
        return PasswordCheck::Rejected(
            "Azure refuses this password because it is on its list of common passwords."
                .to_string(),
        );
    }
    if len < PASSWORD_RECOMMENDED_MIN {
        return PasswordCheck::Weak(format!(
            "The password has {len} characters. Azure accepts {min}, but the portal and the Azure CLI require {PASSWORD_RECOMMENDED_MIN}; the VM's own password policy may also refuse it."
        ));
    }
    PasswordCheck::Ok
}

/// [`check_password_on`] the VM's OS; with the OS not known yet, only a password neither OS
/// accepts is refused (and none is called weak yet).
pub(crate) fn check_password(password: &str, os: Option<OsType>) -> PasswordCheck {
    match os {
        Some(os) => check_password_on(password, os),
        None => match (
            check_password_on(password, OsType::Windows),
            check_password_on(password, OsType::Linux),
        ) {
            (PasswordCheck::Rejected(windows), PasswordCheck::Rejected(_)) => {
                PasswordCheck::Rejected(windows)
            }
            _ => PasswordCheck::Ok,
        },
    }
}

/// The handler version must be `major.minor`: major 2 or later for Windows' VMAccessAgent,
/// major 1 for Linux's VMAccessForLinux.
pub(crate) fn handler_version_problem(version: &str, os: Option<OsType>) -> Option<String> {
    let parsed = version.split_once('.').and_then(|(major, minor)| {
        let major: u32 = major.parse().ok()?;
        minor.parse::<u32>().ok()?;
        Some(major)
    });
    let Some(major) = parsed else {
        return Some(format!(
            "{version:?} is not a handler version; write it as major.minor, for example \"2.4\" (Windows) or \"1.5\" (Linux)."
        ));
    };
    match os {
        Some(OsType::Windows) if major < 2 => Some(format!(
            "VMAccessAgent handler version {version} is deprecated and no longer published; use \"2.4\" (the default) or at least \"2.0\"."
        )),
        Some(OsType::Linux) if major != 1 => Some(format!(
            "VMAccessForLinux has no handler version {version}: its versions are 1.x; use \"1.5\" (the default on Linux)."
        )),
        None if major == 0 => Some(format!(
            "There is no VMAccess handler version {version}: VMAccessAgent (Windows) is 2.0 or later, VMAccessForLinux 1.x."
        )),
        _ => None,
    }
}

/// The checks above as diagnostics on attribute `attr`: what the resource and the action share.
pub(crate) fn username(name: &str, attr: &str, os: Option<OsType>) -> Option<Diagnostic> {
    username_problem(name, os).map(|p| Diagnostic::error("Invalid user name", p).at_attr(attr))
}

/// A refused password is an error, a weak one a warning; neither repeats it.
pub(crate) fn password(password: &str, attr: &str, os: Option<OsType>) -> Option<Diagnostic> {
    match check_password(password, os) {
        PasswordCheck::Ok => None,
        PasswordCheck::Weak(m) => Some(Diagnostic::warning("Weak password", m).at_attr(attr)),
        PasswordCheck::Rejected(m) => {
            Some(Diagnostic::error("Password does not meet Azure's rules", m).at_attr(attr))
        }
    }
}

pub(crate) fn handler_version(version: &str, attr: &str, os: Option<OsType>) -> Option<Diagnostic> {
    handler_version_problem(version, os)
        .map(|p| Diagnostic::error("Unsupported handler version", p).at_attr(attr))
}

pub(crate) fn vm_id(text: &str, attr: &str) -> Result<VirtualMachineId, Diagnostic> {
    VirtualMachineId::parse(text)
        .map_err(|e| Diagnostic::error("Invalid virtual machine ID", e.to_string()).at_attr(attr))
}

/// The checks of where and with what a run happens (`virtual_machine_id`,
/// `type_handler_version`), shared by every object that runs VMAccess.
pub(crate) fn target(config: &Object) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Some(id) = config.get_string(VIRTUAL_MACHINE_ID)
        && let Err(d) = vm_id(id, VIRTUAL_MACHINE_ID)
    {
        diags.push(d);
    }
    if let Some(v) = config.get_string(TYPE_HANDLER_VERSION) {
        diags
            .0
            .extend(handler_version(v, TYPE_HANDLER_VERSION, None));
    }
    diags
}

/// The settings only VMAccessForLinux has, in the order a schema lists them.
pub(crate) const LINUX_ONLY: &[&str] = &[
    SSH_PUBLIC_KEYS,
    REMOVE_PRIOR_KEYS,
    RESET_SSH,
    EXPIRATION,
    REMOVE_USER,
];

/// The rules of the VM's OS, once a plan has read it (`vm` names the VM in messages): user name,
/// passwords and handler version by that OS's rules, Linux-only settings on Windows, and what a
/// Linux run must ask for. Values still unknown pass.
pub(crate) fn for_os(
    config: &Object,
    os: OsType,
    vm: &str,
    passwords: &PasswordAttributes,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Some(name) = config.get_string(USERNAME) {
        diags.0.extend(username(name, USERNAME, Some(os)));
    }
    for attr in passwords.names {
        if let Some(pw) = config.get_string(attr) {
            diags.0.extend(password(pw, attr, Some(os)));
        }
    }
    if let Some(v) = config.get_string(TYPE_HANDLER_VERSION) {
        diags
            .0
            .extend(handler_version(v, TYPE_HANDLER_VERSION, Some(os)));
    }
    match os {
        OsType::Windows => {
            for attr in LINUX_ONLY.iter().filter(|a| !config.is_null(a)) {
                diags.push(
                    Diagnostic::error(
                        format!("`{attr}` is for Linux VMs"),
                        format!(
                            "VM {vm:?} runs Windows, and `{attr}` is a setting of VMAccessForLinux, the Linux extension. \
                             Remove it; on Windows, `username` with a new password resets an account, and no `username` \
                             resets the Remote Desktop configuration."
                        ),
                    )
                    .at_attr(attr),
                );
            }
        }
        OsType::Linux => {
            let asked = |attr: &str| !config.is_null(attr) && config.get_bool(attr) != Some(false);
            if config.is_null(USERNAME) && !asked(RESET_SSH) && config.is_null(REMOVE_USER) {
                diags.push(
                    Diagnostic::error(
                        "Nothing to reset on a Linux VM",
                        format!(
                            "VM {vm:?} runs Linux, where a run without `username` has nothing to do: the Remote Desktop \
                             reset is Windows-only. Set `username` with a new password or `ssh_public_keys`, or \
                             `reset_ssh = true` to restore the default sshd configuration."
                        ),
                    )
                    .at_attr(USERNAME),
                );
            }
        }
    }
    diags
}

/// An action's `attr` (its whole run's timeout), when set, is a duration Terraform can read.
pub(crate) fn timeout(config: &Object, attr: &str) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Some(t) = config.get_string(attr)
        && let Err(e) = parse_duration(t)
    {
        diags.push(
            Diagnostic::error(
                "Invalid timeout",
                format!(
                    "{t:?} is {e}. Write a duration of at most {} like \"30m\", \"1h30m\" or \"90s\".",
                    format_duration(MAX_TIMEOUT)
                ),
            )
            .at_attr(attr),
        );
    }
    diags
}

/// A resource's write-only password goes with the version number that reruns it, and the number
/// with the password.
pub(crate) fn write_only_password(config: &Object) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let password_wo_set = !config.is_null(PASSWORD_WO);
    if password_wo_set && config.is_null(PASSWORD_WO_VERSION) {
        diags.push(
            Diagnostic::error(
                "Missing password_wo_version",
                "`password_wo` needs `password_wo_version`: Terraform cannot see changes of write-only values, so the version \
                 number is what tells it to rerun. Set it to 1 and bump it whenever the password changes.",
            )
            .at_attr(PASSWORD_WO_VERSION),
        );
    }
    if !password_wo_set && !config.is_unknown(PASSWORD_WO) && !config.is_null(PASSWORD_WO_VERSION) {
        diags.push(
            Diagnostic::error(
                "password_wo_version without password_wo",
                "`password_wo_version` only has a meaning together with `password_wo`. Remove it, or set `password_wo`.",
            )
            .at_attr(PASSWORD_WO_VERSION),
        );
    }
    diags
}

/// Where a surface takes an account's new password from.
pub(crate) struct PasswordAttributes {
    /// The attributes a password can be given in; at most one may be set.
    pub(crate) names: &'static [&'static str],
    /// The attribute "Missing password" points at.
    pub(crate) missing_at: &'static str,
    /// What "Missing password" says a `username` needs.
    pub(crate) missing_advice: &'static str,
}

/// Where every action takes a new password from: its write-only `password`.
pub(crate) const ACTION_PASSWORDS: PasswordAttributes = PasswordAttributes {
    names: &[PASSWORD],
    missing_at: PASSWORD,
    missing_advice: "A `username` needs a new `password`.",
};

/// The account rules: a valid user name; with a user name, exactly one new password, valid by
/// Azure's rules; without one (a Remote Desktop reset), no password. Values still unknown pass.
pub(crate) fn account(config: &Object, passwords: &PasswordAttributes) -> Diagnostics {
    let mut diags = Diagnostics::new();
    // Unknown counts as given: it will be known at apply.
    let given = |attr: &str| !config.is_null(attr);
    let username_given = given(USERNAME);
    let set: Vec<&str> = passwords
        .names
        .iter()
        .copied()
        .filter(|a| given(a))
        .collect();

    if let Some(name) = config.get_string(USERNAME) {
        diags.0.extend(username(name, USERNAME, None));
    }
    // On Linux an SSH key can stand in for the password (on Windows it is an error of its own).
    let keys_given = given(SSH_PUBLIC_KEYS);
    if username_given && set.len() > 1 {
        diags.push(
            Diagnostic::error(
                "Conflicting passwords",
                format!(
                    "Set only one of {}. Prefer `password_wo`, which is never stored in state.",
                    set.iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )
            .at_attr(set[0]),
        );
    } else if username_given && set.is_empty() && !keys_given {
        diags.push(
            Diagnostic::error(
                "Missing password",
                format!(
                    "{} On a Linux VM, `ssh_public_keys` can stand in for it. Leave out `username` to reset only the \
                     Remote Desktop configuration (Windows) or only the SSH daemon with `reset_ssh` (Linux).",
                    passwords.missing_advice
                ),
            )
            .at_attr(passwords.missing_at),
        );
    } else if !username_given && !config.is_unknown(USERNAME) {
        for attr in set {
            diags.push(
                Diagnostic::error(
                    "Password without a user name",
                    format!(
                        "`{attr}` is set but `username` is not. Set `username` to the account whose password to reset, or \
                         remove `{attr}` to reset only the Remote Desktop configuration (Windows) or the SSH daemon \
                         (Linux, with `reset_ssh`)."
                    ),
                )
                .at_attr(attr),
            );
        }
    }
    for attr in passwords.names {
        if let Some(pw) = config.get_string(attr) {
            diags.0.extend(password(pw, attr, None));
        }
    }
    diags.extend(linux_settings(config));
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfprotocol::Value;

    const TWO: PasswordAttributes = PasswordAttributes {
        names: &["password", "password_wo"],
        missing_at: "username",
        missing_advice: "Needs one.",
    };
    const ONE: PasswordAttributes = PasswordAttributes {
        names: &["password"],
        missing_at: "password",
        missing_advice: "Needs one.",
    };

    /// (summary, attribute) of each diagnostic.
    fn account_findings(config: &Object, passwords: &PasswordAttributes) -> Vec<(String, String)> {
        account(config, passwords)
            .iter()
            .map(|d| {
                let at = d
                    .path
                    .as_ref()
                    .map(|p| format!("{p:?}"))
                    .unwrap_or_default();
                (d.summary.clone(), at)
            })
            .collect()
    }

    #[test]
    fn account_rules_pair_user_and_password_on_either_surface() {
        let pw = Value::string("Correct-Horse-42");
        let user = Object::new().with("username", Value::string("opsadmin"));
        for passwords in [&TWO, &ONE] {
            assert!(
                account(&user.clone().with("password", pw.clone()), passwords)
                    .0
                    .is_empty()
            );
            let missing = account_findings(&user, passwords);
            assert_eq!(missing.len(), 1);
            assert_eq!(missing[0].0, "Missing password");
            assert!(missing[0].1.contains(passwords.missing_at), "{missing:?}");
            let orphan = account_findings(&Object::new().with("password", pw.clone()), passwords);
            assert_eq!(orphan.len(), 1);
            assert_eq!(orphan[0].0, "Password without a user name");
            // Unknown values pass: they are checked again once known.
            let unknown = Object::new()
                .with("username", Value::Unknown)
                .with("password", Value::Unknown);
            assert!(account(&unknown, passwords).0.is_empty());
            assert!(
                account(&Object::new().with("username", Value::Unknown), passwords).has_errors()
            );
            // No user name at all: any password, even one not known yet, is one too many.
            assert!(
                account(&Object::new().with("password", Value::Unknown), passwords).has_errors()
            );
            // A Remote Desktop reset: neither.
            assert!(account(&Object::new(), passwords).0.is_empty());
        }
        let both = user.with("password", pw.clone()).with("password_wo", pw);
        assert_eq!(account_findings(&both, &TWO)[0].0, "Conflicting passwords");
    }

    #[test]
    fn account_rules_check_the_user_name_and_every_password_attribute() {
        let config = Object::new()
            .with("username", Value::string("ops@admin"))
            .with("password_wo", Value::string("short"));
        let summaries: Vec<_> = account_findings(&config, &TWO)
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(
            summaries,
            ["Invalid user name", "Password does not meet Azure's rules"],
            "neither OS accepts them"
        );
    }

    const WIN: Option<OsType> = Some(OsType::Windows);
    const LINUX: Option<OsType> = Some(OsType::Linux);

    #[test]
    fn usernames() {
        assert_eq!(username_problem("opsadmin", WIN), None);
        assert!(username_problem("", WIN).is_some());
        assert!(username_problem("a-very-long-user-name-x", WIN).is_some());
        assert!(username_problem("ops@admin", WIN).unwrap().contains('@'));
        assert!(username_problem("ops.", WIN).is_some());
        assert!(username_problem("...", WIN).is_some());
        assert_eq!(username_problem("azure_user-1", LINUX), None);
        assert!(username_problem("OpsAdmin", LINUX).is_some());
        assert!(username_problem("1ops", LINUX).is_some());
        assert!(username_problem("root", LINUX).unwrap().contains("system"));
        assert!(username_problem(&"a".repeat(33), LINUX).is_some());
    }

    #[test]
    fn before_the_os_is_known_only_names_no_os_accepts_fail() {
        // Windows refuses it, Linux takes it (and the other way round): no error yet.
        assert_eq!(username_problem("a-very-long-user-name-x", None), None);
        assert_eq!(username_problem("OpsAdmin", None), None);
        let both = username_problem("ops@admin", None).expect("neither OS accepts it");
        assert!(both.contains('@') && both.contains("Linux"), "{both}");
        assert_eq!(check_password("Sh0rt!", None), PasswordCheck::Ok);
        assert!(matches!(
            check_password("Sh0r!", None),
            PasswordCheck::Rejected(_)
        ));
        assert_eq!(
            check_password("Abcdef1!", None),
            PasswordCheck::Ok,
            "no weak warning yet"
        );
        assert_eq!(handler_version_problem("1.5", None), None);
        assert_eq!(handler_version_problem("2.4", None), None);
        assert!(handler_version_problem("0.9", None).is_some());
        assert!(handler_version_problem("latest", None).is_some());
    }

    #[test]
    fn passwords() {
        assert_eq!(check_password("Correct-Horse-42", WIN), PasswordCheck::Ok);
        assert!(matches!(
            check_password("Sh0rt!", WIN),
            PasswordCheck::Rejected(_)
        ));
        assert!(matches!(
            check_password("Sh0rt!", LINUX),
            PasswordCheck::Weak(_)
        ));
        assert!(matches!(
            check_password("alllowercase1", WIN),
            PasswordCheck::Rejected(_)
        ));
        assert!(matches!(
            check_password("P@ssw0rd", WIN),
            PasswordCheck::Rejected(_)
        ));
        assert!(matches!(
            check_password("Abcdef1!", WIN),
            PasswordCheck::Weak(_)
        ));
        assert!(matches!(
            check_password(&"Aa1!".repeat(31), WIN),
            PasswordCheck::Rejected(_)
        ));
        assert!(matches!(
            check_password(&"Aa1!".repeat(19), LINUX),
            PasswordCheck::Rejected(_)
        ));
    }

    #[test]
    fn messages_never_contain_the_password() {
        for pw in ["Sh0rt!", "alllowercase1", "P@ssw0rd", "Abcdef1!"] {
            for os in [WIN, LINUX, None] {
                if let PasswordCheck::Rejected(m) | PasswordCheck::Weak(m) = check_password(pw, os)
                {
                    assert!(!m.contains(pw), "{m}");
                }
            }
        }
    }

    #[test]
    fn handler_versions() {
        assert_eq!(handler_version_problem("2.4", WIN), None);
        assert_eq!(handler_version_problem("2.0", WIN), None);
        assert!(
            handler_version_problem("1.5", WIN)
                .unwrap()
                .contains("deprecated")
        );
        assert!(handler_version_problem("latest", WIN).is_some());
        assert!(handler_version_problem("2", WIN).is_some());
        assert_eq!(handler_version_problem("1.5", LINUX), None);
        assert!(
            handler_version_problem("2.4", LINUX)
                .unwrap()
                .contains("1.x")
        );
    }

    #[test]
    fn os_rules_name_linux_settings_on_windows_and_empty_linux_runs() {
        let keys = Value::Set(vec![Value::string("ssh-ed25519 AAAA")]);
        let config = Object::new()
            .with("username", Value::string("opsadmin"))
            .with("ssh_public_keys", keys)
            .with("reset_ssh", Value::Bool(true));
        let summaries: Vec<_> = for_os(&config, OsType::Windows, "web", &TWO)
            .iter()
            .map(|d| d.summary.clone())
            .collect();
        assert_eq!(
            summaries,
            [
                "`ssh_public_keys` is for Linux VMs",
                "`reset_ssh` is for Linux VMs"
            ]
        );
        assert!(!for_os(&config, OsType::Linux, "app", &TWO).has_errors());
        let nothing = for_os(&Object::new(), OsType::Linux, "app", &TWO);
        assert_eq!(nothing.0[0].summary, "Nothing to reset on a Linux VM");
        assert!(nothing.0[0].detail.contains("Windows-only"));
        assert!(!for_os(&Object::new(), OsType::Windows, "web", &TWO).has_errors());
        let reset_off = Object::new().with("reset_ssh", Value::Bool(false));
        assert!(for_os(&reset_off, OsType::Linux, "app", &TWO).has_errors());
    }
}
