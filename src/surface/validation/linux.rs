//! The settings only Linux's VMAccessForLinux has, checked before the VM's OS is known: each
//! SSH key parses and is of a type the extension writes, an expiry is a future date, and the
//! combinations the extension refuses are refused here first.

use ssh_key::{Algorithm, PublicKey, public::KeyData};
use time::{Date, Month, OffsetDateTime};

use crate::tfprotocol::{Diagnostic, Diagnostics, Object, Value};

use super::super::attributes::{
    EXPIRATION, PASSWORD, PASSWORD_WO, REMOVE_PRIOR_KEYS, REMOVE_USER, RESET_SSH, SSH_PUBLIC_KEYS,
    USERNAME,
};
use super::linux_username_problem;

/// The smallest RSA key current OpenSSH servers accept.
const RSA_MIN_BITS: usize = 2048;

/// Every Linux-only rule that needs no OS; values still unknown pass.
pub(crate) fn linux_settings(config: &Object) -> Diagnostics {
    let mut diags = Diagnostics::new();
    ssh_keys(config, &mut diags);
    let on = |attr: &str| config.get_bool(attr) == Some(true);
    if on(REMOVE_PRIOR_KEYS) && config.is_null(SSH_PUBLIC_KEYS) {
        diags.push(
            Diagnostic::error(
                "remove_prior_keys without ssh_public_keys",
                "`remove_prior_keys` replaces the account's authorized keys with `ssh_public_keys`, which is not set. \
                 Set the keys to keep, or remove `remove_prior_keys`.",
            )
            .at_attr(REMOVE_PRIOR_KEYS),
        );
    }
    // Keys belong to an account (null is never unknown here).
    if !config.is_null(SSH_PUBLIC_KEYS) && config.is_null(USERNAME) {
        diags.push(
            Diagnostic::error(
                "SSH keys without a user name",
                "`ssh_public_keys` go to an account's authorized_keys: set `username` to that account.",
            )
            .at_attr(SSH_PUBLIC_KEYS),
        );
    }
    if let Some(date) = config.get_string(EXPIRATION) {
        diags.0.extend(
            expiration_problem(date)
                .map(|p| Diagnostic::error("Invalid expiration", p).at_attr(EXPIRATION)),
        );
        if config.is_null(USERNAME) {
            diags.push(
                Diagnostic::error(
                    "expiration without a user name",
                    "`expiration` is the expiry date of the account `username` creates: set `username`, or remove it.",
                )
                .at_attr(EXPIRATION),
            );
        }
    }
    if let Some(user) = config.get_string(REMOVE_USER) {
        if let Some(p) = linux_username_problem(user) {
            diags.push(Diagnostic::error("Invalid user name", p).at_attr(REMOVE_USER));
        }
        if config.get_string(USERNAME) == Some(user) {
            diags.push(
                Diagnostic::error(
                    "Removing the account being reset",
                    "`remove_user` and `username` name the same account: remove one of them.",
                )
                .at_attr(REMOVE_USER),
            );
        }
    }
    if !config.is_null(REMOVE_USER) {
        // VMAccessForLinux refuses these together ("Cannot reset sshd_config and remove a user in
        // one operation").
        for attr in [PASSWORD, PASSWORD_WO, RESET_SSH] {
            let set = match attr {
                RESET_SSH => config.get_bool(attr) != Some(false) && !config.is_null(attr),
                _ => !config.is_null(attr),
            };
            if set {
                diags.push(
                    Diagnostic::error(
                        format!("`remove_user` cannot go with `{attr}`"),
                        format!(
                            "VMAccessForLinux refuses to remove a user in the same run that sets a password or resets \
                             the SSH daemon. Remove `{attr}`, and set it in a run of its own."
                        ),
                    )
                    .at_attr(attr),
                );
            }
        }
    }
    diags
}

/// Checks each known key of `ssh_public_keys`.
fn ssh_keys(config: &Object, diags: &mut Diagnostics) {
    let items = match config.get(SSH_PUBLIC_KEYS).concrete() {
        Value::Set(items) | Value::List(items) => items,
        _ => return,
    };
    if items.is_empty() {
        diags.push(
            Diagnostic::error(
                "No SSH keys",
                "`ssh_public_keys` is empty: give at least one public key, or leave it out.",
            )
            .at_attr(SSH_PUBLIC_KEYS),
        );
        return;
    }
    for item in items {
        match item.concrete() {
            Value::String(key) => {
                if let Some(problem) = ssh_key_problem(key) {
                    diags.push(
                        Diagnostic::error("Invalid SSH public key", problem)
                            .at_attr(SSH_PUBLIC_KEYS),
                    );
                }
            }
            Value::Null => diags.push(
                Diagnostic::error(
                    "Invalid SSH public key",
                    "`ssh_public_keys` cannot hold null.",
                )
                .at_attr(SSH_PUBLIC_KEYS),
            ),
            _ => {} // unknown: checked at apply
        }
    }
}

/// What is wrong with one OpenSSH public key line, if anything. Never quotes the key whole.
pub(crate) fn ssh_key_problem(line: &str) -> Option<String> {
    let line = line.trim();
    let shown: String = line.chars().take(24).collect();
    if line.contains("PRIVATE KEY") {
        return Some(
            "This is a private key. Give the public key (the `.pub` file, one line starting with ssh-ed25519 or \
             ssh-rsa); never put a private key in Terraform."
                .to_string(),
        );
    }
    let key = match PublicKey::from_openssh(line) {
        Ok(key) => key,
        Err(e) => {
            return Some(format!(
                "The key starting {shown:?} is not an OpenSSH public key ({e}). Give one line as in an `.pub` file: \
                 the type (ssh-ed25519 or ssh-rsa), the base64 key, and an optional comment."
            ));
        }
    };
    match key.key_data() {
        KeyData::Ed25519(_) => None,
        KeyData::Rsa(rsa) => {
            let bits = rsa.n.as_positive_bytes().map_or(0, |b| b.len() * 8);
            (bits < RSA_MIN_BITS).then(|| {
                format!(
                    "The ssh-rsa key starting {shown:?} has about {bits} bits; use at least {RSA_MIN_BITS} (or an \
                     ssh-ed25519 key)."
                )
            })
        }
        _ => Some(format!(
            "The key starting {shown:?} is {}, which VMAccessForLinux cannot write: it handles ssh-ed25519 and \
             ssh-rsa keys only.",
            algorithm_name(&key.algorithm())
        )),
    }
}

fn algorithm_name(algorithm: &Algorithm) -> String {
    algorithm.as_str().to_string()
}

/// What is wrong with an `expiration` date, if anything: `yyyy-mm-dd`, a real day, not past.
pub(crate) fn expiration_problem(text: &str) -> Option<String> {
    let parsed = (|| {
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
        Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
    })();
    let Some(date) = parsed else {
        return Some(format!(
            "{text:?} is not a date: write it as yyyy-mm-dd, for example \"2027-06-30\"."
        ));
    };
    let today = OffsetDateTime::now_utc().date();
    (date <= today).then(|| {
        format!(
            "{text} is not in the future: the account would be created already expired. Give a later date, or \
             leave `expiration` out."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ed25519 public key line with 32 arbitrary key bytes.
    fn ed25519() -> String {
        use base64::Engine;
        let mut blob = Vec::new();
        for part in [b"ssh-ed25519".as_slice(), &[7u8; 32]] {
            blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
            blob.extend_from_slice(part);
        }
        format!(
            "ssh-ed25519 {} ops@laptop",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    }

    fn rsa(bits: usize) -> String {
        use base64::Engine;
        let mut blob = Vec::new();
        let n: Vec<u8> = std::iter::once(0x00)
            .chain(std::iter::once(0xC1))
            .chain(std::iter::repeat_n(0x5A, bits / 8 - 1))
            .collect();
        for part in [b"ssh-rsa".as_slice(), &[0x01, 0x00, 0x01], &n] {
            blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
            blob.extend_from_slice(part);
        }
        format!(
            "ssh-rsa {}",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    }

    #[test]
    fn keys_of_the_types_the_extension_writes_pass() {
        assert_eq!(ssh_key_problem(&ed25519()), None);
        assert_eq!(ssh_key_problem(&format!("  {}  ", ed25519())), None);
        assert_eq!(ssh_key_problem(&rsa(2048)), None);
        assert!(ssh_key_problem(&rsa(1024)).unwrap().contains("2048"));
    }

    #[test]
    fn bad_keys_are_named_without_being_repeated() {
        let bad_base64 = "ssh-ed25519 AAAA!!!notbase64 me";
        assert!(
            ssh_key_problem(bad_base64)
                .unwrap()
                .contains("not an OpenSSH public key")
        );
        assert!(ssh_key_problem("hello").is_some());
        let private = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----";
        let said = ssh_key_problem(private).unwrap();
        assert!(
            said.contains("private key") && !said.contains("b3BlbnNz"),
            "{said}"
        );
        let key = ed25519();
        let truncated = &key[..key.len() - 20];
        let said = ssh_key_problem(truncated).unwrap();
        assert!(!said.contains(truncated), "{said}");
    }

    #[test]
    fn expirations_are_future_calendar_dates() {
        assert_eq!(expiration_problem("2099-06-30"), None);
        assert!(expiration_problem("2099-02-30").is_some());
        assert!(expiration_problem("30/06/2099").is_some());
        assert!(expiration_problem("2099-6-30").is_some());
        assert!(expiration_problem("2001-01-01").unwrap().contains("future"));
    }

    #[test]
    fn combinations_the_extension_refuses_are_refused() {
        let summaries = |config: &Object| -> Vec<String> {
            linux_settings(config)
                .iter()
                .map(|d| d.summary.clone())
                .collect()
        };
        let remove = Object::new()
            .with(REMOVE_USER, Value::string("olduser"))
            .with(PASSWORD, Value::string("Correct-Horse-42"))
            .with(RESET_SSH, Value::Bool(true));
        assert_eq!(
            summaries(&remove),
            [
                "`remove_user` cannot go with `password`",
                "`remove_user` cannot go with `reset_ssh`"
            ]
        );
        let prior_keys = Object::new().with(REMOVE_PRIOR_KEYS, Value::Bool(true));
        assert_eq!(
            summaries(&prior_keys),
            ["remove_prior_keys without ssh_public_keys"]
        );
        let keys_alone =
            Object::new().with(SSH_PUBLIC_KEYS, Value::Set(vec![Value::string(ed25519())]));
        assert_eq!(summaries(&keys_alone), ["SSH keys without a user name"]);
        let unknown = Object::new()
            .with(USERNAME, Value::string("azureuser"))
            .with(SSH_PUBLIC_KEYS, Value::Unknown)
            .with(EXPIRATION, Value::Unknown)
            .with(REMOVE_PRIOR_KEYS, Value::Bool(true));
        assert!(summaries(&unknown).is_empty());
    }
}
