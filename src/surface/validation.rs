//! Plan-time checks of what the user typed, for every surface that runs VMAccess: Azure's rules
//! for Windows local accounts, the account rules (a user name needs a password, a password needs
//! a user name), and the target of a run. Messages say what is wrong and how to fix it, and never
//! repeat a password.

use crate::azure::VirtualMachineId;
use crate::tfprotocol::{Diagnostic, Diagnostics, Object};

use super::attributes::{TYPE_HANDLER_VERSION, USERNAME, VIRTUAL_MACHINE_ID};

/// Characters Windows does not allow in a local user name.
const FORBIDDEN_USERNAME_CHARS: &[char] = &[
    '\\', '/', '"', '[', ']', ':', '|', '<', '>', '+', '=', ';', ',', '?', '*', '@',
];

/// Passwords Azure refuses for Windows VMs whatever their complexity.
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

pub(crate) const PASSWORD_MIN: usize = 8;
pub(crate) const PASSWORD_RECOMMENDED_MIN: usize = 12;
pub(crate) const PASSWORD_MAX: usize = 123;

/// Returns what is wrong with a Windows local user name, if anything.
pub(crate) fn username_problem(name: &str) -> Option<String> {
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

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PasswordCheck {
    Ok,
    /// Azure accepts it, but the portal would not.
    Weak(String),
    Rejected(String),
}

/// Azure's rules for Windows passwords: 8–123 characters, three of the four
/// character classes, not on the deny list.
pub(crate) fn check_password(password: &str) -> PasswordCheck {
    let len = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return PasswordCheck::Rejected(format!(
            "Azure requires {PASSWORD_MIN} to {PASSWORD_MAX} characters for a Windows password; this one has {len}."
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
            "The password has {len} characters. Azure accepts 8, but the portal and the Azure CLI require {PASSWORD_RECOMMENDED_MIN}; the VM's own password policy may also refuse it."
        ));
    }
    PasswordCheck::Ok
}

/// The handler version must be `major.minor` with major 2 or later.
pub(crate) fn handler_version_problem(version: &str) -> Option<String> {
    let parsed = version.split_once('.').and_then(|(major, minor)| {
        let major: u32 = major.parse().ok()?;
        minor.parse::<u32>().ok()?;
        Some(major)
    });
    match parsed {
        None => Some(format!(
            "{version:?} is not a handler version; write it as major.minor, for example \"2.4\"."
        )),
        Some(major) if major < 2 => Some(format!(
            "VMAccessAgent handler version {version} is deprecated and no longer published; use \"2.4\" (the default) or at least \"2.0\"."
        )),
        Some(_) => None,
    }
}

/// The checks above as diagnostics on attribute `attr`: what the resource and the action share.
pub(crate) fn username(name: &str, attr: &str) -> Option<Diagnostic> {
    username_problem(name).map(|p| Diagnostic::error("Invalid user name", p).at_attr(attr))
}

/// A refused password is an error, a weak one a warning; neither repeats it.
pub(crate) fn password(password: &str, attr: &str) -> Option<Diagnostic> {
    match check_password(password) {
        PasswordCheck::Ok => None,
        PasswordCheck::Weak(m) => Some(Diagnostic::warning("Weak password", m).at_attr(attr)),
        PasswordCheck::Rejected(m) => {
            Some(Diagnostic::error("Password does not meet Azure's rules", m).at_attr(attr))
        }
    }
}

pub(crate) fn handler_version(version: &str, attr: &str) -> Option<Diagnostic> {
    handler_version_problem(version)
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
        diags.0.extend(handler_version(v, TYPE_HANDLER_VERSION));
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
        diags.0.extend(username(name, USERNAME));
    }
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
    } else if username_given && set.is_empty() {
        diags.push(
            Diagnostic::error(
                "Missing password",
                format!(
                    "{} Leave out `username` to reset only the Remote Desktop configuration.",
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
                         remove `{attr}` to reset only the Remote Desktop configuration."
                    ),
                )
                .at_attr(attr),
            );
        }
    }
    for attr in passwords.names {
        if let Some(pw) = config.get_string(attr) {
            diags.0.extend(password(pw, attr));
        }
    }
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
            ["Invalid user name", "Password does not meet Azure's rules"]
        );
    }

    #[test]
    fn usernames() {
        assert_eq!(username_problem("opsadmin"), None);
        assert!(username_problem("").is_some());
        assert!(username_problem("a-very-long-user-name-x").is_some());
        assert!(username_problem("ops@admin").unwrap().contains('@'));
        assert!(username_problem("ops.").is_some());
        assert!(username_problem("...").is_some());
    }

    #[test]
    fn passwords() {
        assert_eq!(check_password("Correct-Horse-42"), PasswordCheck::Ok);
        assert!(matches!(
            check_password("Sh0rt!"),
            PasswordCheck::Rejected(_)
        ));
        assert!(matches!(
            check_password("alllowercase1"),
            PasswordCheck::Rejected(_)
        ));
        assert!(matches!(
            check_password("P@ssw0rd"),
            PasswordCheck::Rejected(_)
        ));
        assert!(matches!(check_password("Abcdef1!"), PasswordCheck::Weak(_)));
        assert!(matches!(
            check_password(&"Aa1!".repeat(31)),
            PasswordCheck::Rejected(_)
        ));
    }

    #[test]
    fn messages_never_contain_the_password() {
        for pw in ["Sh0rt!", "alllowercase1", "P@ssw0rd", "Abcdef1!"] {
            if let PasswordCheck::Rejected(m) | PasswordCheck::Weak(m) = check_password(pw) {
                assert!(!m.contains(pw), "{m}");
            }
        }
    }

    #[test]
    fn handler_versions() {
        assert_eq!(handler_version_problem("2.4"), None);
        assert_eq!(handler_version_problem("2.0"), None);
        assert!(
            handler_version_problem("1.5")
                .unwrap()
                .contains("deprecated")
        );
        assert!(handler_version_problem("latest").is_some());
        assert!(handler_version_problem("2").is_some());
    }
}
