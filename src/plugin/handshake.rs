//! The go-plugin handshake: what Terraform puts in the environment when it
//! starts a plugin, and the one line the plugin answers on stdout.

use base64::Engine;

/// The variable go-plugin hosts set so that a plugin knows it was started by one.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Terraform's value of [`MAGIC_COOKIE_KEY`].
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version, first field of the handshake line.
const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol this provider speaks.
pub(crate) const APP_PROTOCOL_VERSION: u32 = 6;

/// Why the plugin cannot start as Terraform asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandshakeError {
    #[error(
        "this is a Terraform plugin: use it from terraform (for example through a dev_overrides block or a provider mirror), not directly. Run it with --debug to attach terraform through TF_REATTACH_PROVIDERS."
    )]
    /// Run by hand: the go-plugin magic cookie is missing.
    NotLaunchedByTerraform,
    #[error(
        "terraform offered plugin protocol versions {offered:?}, but this provider speaks only version 6 (Terraform 1.0 or later)"
    )]
    /// Terraform offered only protocol versions this provider does not speak.
    NoCommonProtocol {
        /// `PLUGIN_PROTOCOL_VERSIONS` as Terraform set it.
        offered: String,
    },
    #[error("invalid {name}: {reason}")]
    /// A `PLUGIN_*` variable that cannot be used.
    InvalidSetting {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// What Terraform asked for, read from the environment.
#[derive(Debug, Clone)]
pub struct HandshakeEnv {
    /// Terraform's client certificate (PEM) when AutoMTLS is on.
    pub(crate) client_cert_pem: Option<String>,
    /// Where Unix hosts put the socket.
    pub(crate) unix_socket_dir: Option<String>,
    /// The loopback port range other hosts (Windows) listen in.
    #[cfg_attr(unix, allow(dead_code))]
    pub(crate) ports: std::ops::RangeInclusive<u16>,
}

impl HandshakeEnv {
    /// Reads the `PLUGIN_*` variables Terraform sets when it starts a plugin.
    pub fn from_env() -> Result<HandshakeEnv, HandshakeError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub(crate) fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<HandshakeEnv, HandshakeError> {
        if get(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(HandshakeError::NotLaunchedByTerraform);
        }
        // Without the variable go-plugin assumes the plugin's own version.
        if let Some(offered) = get("PLUGIN_PROTOCOL_VERSIONS")
            && !offered
                .split(',')
                .any(|v| v.trim() == APP_PROTOCOL_VERSION.to_string())
        {
            return Err(HandshakeError::NoCommonProtocol { offered });
        }
        let port = |name: &'static str, default: u16| -> Result<u16, HandshakeError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| HandshakeError::InvalidSetting {
                        name,
                        reason: format!("{v:?} is not a port number"),
                    }),
            }
        };
        // Checked everywhere as go-plugin checks them; only non-Unix hosts listen on a port.
        let (min_port, max_port) = (
            port("PLUGIN_MIN_PORT", 10000)?,
            port("PLUGIN_MAX_PORT", 25000)?,
        );
        if min_port > max_port {
            return Err(HandshakeError::InvalidSetting {
                name: "PLUGIN_MIN_PORT",
                reason: format!("{min_port} is above PLUGIN_MAX_PORT {max_port}"),
            });
        }
        Ok(HandshakeEnv {
            client_cert_pem: get("PLUGIN_CLIENT_CERT").filter(|s| !s.trim().is_empty()),
            unix_socket_dir: get("PLUGIN_UNIX_SOCKET_DIR").filter(|s| !s.is_empty()),
            ports: min_port..=max_port,
        })
    }
}

/// `CORE|APP|NETWORK|ADDR|grpc|CERT`, the certificate as unpadded base64 DER.
pub(crate) fn handshake_line(network: &str, addr: &str, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|d| base64::engine::general_purpose::STANDARD_NO_PAD.encode(d))
        .unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|{network}|{addr}|grpc|{cert}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn missing_cookie_is_refused() {
        assert_eq!(
            HandshakeEnv::from_lookup(env(&[])).unwrap_err(),
            HandshakeError::NotLaunchedByTerraform
        );
    }

    #[test]
    fn protocol_six_must_be_offered() {
        let e = HandshakeEnv::from_lookup(env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5"),
        ]));
        assert!(matches!(e, Err(HandshakeError::NoCommonProtocol { .. })));
        let ok = HandshakeEnv::from_lookup(env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
        ]));
        assert!(ok.is_ok());
    }

    /// Windows hosts listen in this range, so it must survive parsing.
    #[test]
    fn port_range_is_read_and_checked() {
        let cookie = (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE);
        let parsed = HandshakeEnv::from_lookup(env(&[
            cookie,
            ("PLUGIN_MIN_PORT", "20000"),
            ("PLUGIN_MAX_PORT", "20010"),
        ]));
        assert_eq!(parsed.map(|e| e.ports), Ok(20000..=20010));
        let defaults = HandshakeEnv::from_lookup(env(&[cookie]));
        assert_eq!(defaults.map(|e| e.ports), Ok(10000..=25000));
        let reversed = HandshakeEnv::from_lookup(env(&[
            cookie,
            ("PLUGIN_MIN_PORT", "30000"),
            ("PLUGIN_MAX_PORT", "20000"),
        ]));
        assert!(matches!(
            reversed,
            Err(HandshakeError::InvalidSetting {
                name: "PLUGIN_MIN_PORT",
                ..
            })
        ));
    }

    #[test]
    fn handshake_line_has_six_fields_and_unpadded_cert() {
        let line = handshake_line("unix", "/tmp/x.sock", Some(&[1, 2, 3, 4]));
        assert_eq!(line, "1|6|unix|/tmp/x.sock|grpc|AQIDBA");
    }
}
