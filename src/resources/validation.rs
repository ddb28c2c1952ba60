//! Plan-time checks of what the user typed, with Azure's rules for Windows
//! local accounts. Messages say what is wrong and how to fix it, and never
//! repeat a password.

use crate::azure::VirtualMachineId;
use crate::tfprotocol::{Diagnostic, Diagnostics, Object};

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
    if let Some(id) = config.get_string("virtual_machine_id")
        && let Err(d) = vm_id(id, "virtual_machine_id")
    {
        diags.push(d);
    }
    if let Some(v) = config.get_string("type_handler_version") {
        diags.0.extend(handler_version(v, "type_handler_version"));
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

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
