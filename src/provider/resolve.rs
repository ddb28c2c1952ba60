//! Configuration, then environment: the one place the provider reads environment variables
//! ([`process_env`]), and the typed result.

use secrecy::SecretString;

use crate::azure::AzureSettings;
use crate::tfprotocol::{Diagnostic, Diagnostics, Object};

use crate::surface::settings::{Fill, SETTINGS, SYSTEM_ACCESSTOKEN, Setting};

/// Settings as resolved by `configure`; `Debug` names the settings given, never their values.
#[derive(Clone, Default)]
pub(crate) struct ResolvedSettings {
    pub(crate) azure: AzureSettings,
    given: Vec<&'static str>,
}

impl std::fmt::Debug for ResolvedSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.given).finish()
    }
}

/// The process environment: the only reader of environment variables in the provider.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A setting's raw value and where it came from.
enum Raw {
    Text(String),
    Flag(bool),
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// The configured value, else the first non-empty environment variable. Unknown configuration
/// values are skipped (validate runs before they are known).
fn raw(
    s: &Setting,
    config: &Object,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<Result<Raw, Diagnostic>> {
    let flag = matches!(s.fill, Fill::Flag(_));
    let from_config = if flag {
        config.get_bool(s.name).map(Raw::Flag)
    } else {
        config
            .get_string(s.name)
            .filter(|v| !v.is_empty())
            .map(|v| Raw::Text(v.to_string()))
    };
    if let Some(v) = from_config {
        return Some(Ok(v));
    }
    s.env.iter().find_map(|var| {
        let value = env(var).filter(|v| !v.trim().is_empty())?;
        if !flag {
            return Some(Ok(Raw::Text(value)));
        }
        Some(parse_bool(&value).map(Raw::Flag).ok_or_else(|| {
            Diagnostic::error(
                format!("Invalid {var}"),
                format!("{var} must be true or false (it sets `{}`).", s.name),
            )
        }))
    })
}

/// Applies the environment fallbacks and checks values that have a fixed set of choices.
pub(crate) fn resolve(
    config: &Object,
    env: impl Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, Diagnostics> {
    let mut settings = ResolvedSettings::default();
    let mut diags = Diagnostics::new();
    for s in SETTINGS {
        let value = match raw(s, config, &env) {
            None => continue,
            Some(Err(d)) => {
                diags.push(d);
                continue;
            }
            Some(Ok(v)) => v,
        };
        let azure = &mut settings.azure;
        match (s.fill, value) {
            (Fill::Text(fill), Raw::Text(v)) => fill(azure, v),
            (Fill::Secret(fill), Raw::Text(v)) => fill(azure, SecretString::from(v)),
            (Fill::Flag(fill), Raw::Flag(b)) => fill(azure, b),
            (Fill::Choice { summary, fill }, Raw::Text(v)) => {
                if let Err(detail) = fill(azure, &v) {
                    diags.push(Diagnostic::error(summary, detail).at_attr(s.name));
                }
            }
            // `raw` reads flags as flags and everything else as text.
            _ => continue,
        }
        settings.given.push(s.name);
    }
    // Azure Pipelines' job token: environment only, no attribute.
    settings.azure.system_access_token = env(SYSTEM_ACCESSTOKEN)
        .filter(|v| !v.trim().is_empty())
        .map(SecretString::from);
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfprotocol::Value;
    use secrecy::ExposeSecret;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    /// The settings from the environment `pairs` alone (no configuration).
    fn from_env(pairs: &'static [(&'static str, &'static str)]) -> ResolvedSettings {
        resolve(&Object::new(), env(pairs)).unwrap()
    }

    #[test]
    fn system_access_token_is_resolved_from_the_environment() {
        let s = from_env(&[("SYSTEM_ACCESSTOKEN", "job-token")]);
        assert_eq!(
            s.azure
                .system_access_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            Some("job-token".to_string())
        );
        assert!(!format!("{s:?}").contains("job-token"));
    }

    #[test]
    fn configuration_wins_over_environment() {
        let config = Object::new().with("subscription_id", Value::string("from-config"));
        let s = resolve(
            &config,
            env(&[("ARM_SUBSCRIPTION_ID", "from-env"), ("ARM_TENANT_ID", "t")]),
        )
        .unwrap();
        assert_eq!(s.azure.subscription_id.as_deref(), Some("from-config"));
        assert_eq!(s.azure.tenant_id.as_deref(), Some("t"));
    }

    #[test]
    fn github_actions_variables_are_the_second_fallback() {
        let s = from_env(&[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh"),
            ("ARM_USE_OIDC", "true"),
        ]);
        assert_eq!(s.azure.oidc_request_url.as_deref(), Some("https://gh"));
        assert!(s.azure.use_oidc);
        let s = from_env(&[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh"),
            ("ARM_OIDC_REQUEST_URL", "https://arm"),
        ]);
        assert_eq!(s.azure.oidc_request_url.as_deref(), Some("https://arm"));
    }

    #[test]
    fn certificate_chain_switch_reads_the_azure_sdks_variable_second() {
        assert!(!from_env(&[]).azure.client_send_certificate_chain);
        // The Azure SDKs' variable, with their "1" for true.
        let s = from_env(&[("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "1")]);
        assert!(s.azure.client_send_certificate_chain);
        let s = from_env(&[
            ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "true"),
            ("ARM_CLIENT_SEND_CERTIFICATE_CHAIN", "false"),
        ]);
        assert!(!s.azure.client_send_certificate_chain);
        let config = Object::new().with("client_send_certificate_chain", Value::Bool(true));
        let s = resolve(&config, env(&[("ARM_CLIENT_SEND_CERTIFICATE_CHAIN", "0")])).unwrap();
        assert!(s.azure.client_send_certificate_chain);
    }

    #[test]
    fn bad_values_are_named() {
        let e = resolve(&Object::new(), env(&[("ARM_USE_MSI", "maybe")])).unwrap_err();
        assert!(e.iter().any(|d| d.summary.contains("ARM_USE_MSI")));
        let config = Object::new().with("environment", Value::string("mars"));
        let e = resolve(&config, env(&[])).unwrap_err();
        assert_eq!(
            e.0[0].path,
            Some(crate::tfprotocol::AttributePath::attr("environment"))
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = from_env(&[("ARM_CLIENT_SECRET", "hunter2-secret")]);
        assert!(!format!("{s:?}").contains("hunter2"));
        let secret = s.azure.client_secret.as_ref().map(|s| s.expose_secret());
        assert_eq!(secret, Some("hunter2-secret"));
    }

    #[test]
    fn defaults_hold_when_nothing_is_set() {
        let s = from_env(&[]);
        assert!(s.azure.use_cli && !s.azure.use_msi && !s.azure.use_oidc);
        assert_eq!(format!("{s:?}"), "[]");
    }
}
