//! The conventional `timeouts` block: per-operation durations written as Go
//! durations ("30m", "1h30m", "90s"), with defaults when unset.

use std::time::Duration;

use super::diagnostics::Diagnostic;
use super::schema::{Attribute, Block};
use super::value::{AttributePath, Object};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Read,
    Update,
    Delete,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::Create,
        Operation::Read,
        Operation::Update,
        Operation::Delete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// The block to add to a resource schema, documenting the defaults.
pub fn block(defaults: &[(Operation, Duration)]) -> Block {
    defaults.iter().fold(
        Block::new("How long each operation may take before Terraform gives up on it."),
        |b, (op, d)| {
            b.attribute(
                Attribute::string(op.name())
                    .optional()
                    .description(&format!(
                        "A duration such as `30m` or `1h30m` for {}. Defaults to `{}`.",
                        op.name(),
                        format_duration(*d)
                    )),
            )
        },
    )
}

/// The duration for `op` from a resource's `timeouts` attribute value.
pub fn get(resource: &Object, op: Operation, default: Duration) -> Result<Duration, Diagnostic> {
    let Some(text) = resource
        .get_object("timeouts")
        .and_then(|t| t.get_string(op.name()))
    else {
        return Ok(default);
    };
    parse_duration(text).ok_or_else(|| {
        Diagnostic::error(
            "Invalid timeout",
            format!("{text:?} is not a duration. Write it like \"30m\", \"1h30m\" or \"90s\"."),
        )
        .at(AttributePath::attr("timeouts").then_attr(op.name()))
    })
}

/// Parses Go-style durations with the units h, m, s and ms.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(number * seconds).ok()?;
    }
    Some(total)
}

pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (0, 0, s) => format!("{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn formats_defaults() {
        assert_eq!(format_duration(Duration::from_secs(1800)), "30m");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
    }
}
