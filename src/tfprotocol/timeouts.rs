//! The conventional `timeouts` block: per-operation durations written as Go
//! durations ("30m", "1h30m", "90s"), with defaults when unset.

use std::time::Duration;

use super::diagnostics::Diagnostic;
use super::schema::{Attribute, Block};
use super::value::{AttributePath, Object};

/// A lifecycle operation that has a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `create`
    Create,
    /// `read`
    Read,
    /// `update`
    Update,
    /// `delete`
    Delete,
}

impl Operation {
    /// Its attribute in the `timeouts` block.
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
pub(crate) fn block(defaults: &[(Operation, Duration)]) -> Block {
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
    parse_duration(text).map_err(|e| {
        let detail = match e {
            DurationError::Invalid => "is not a duration",
            DurationError::TooLong => "is longer than a timeout can be",
        };
        Diagnostic::error(
            "Invalid timeout",
            format!(
                "{text:?} {detail}. Write a duration of at most {} like \"30m\", \"1h30m\" or \"90s\".",
                format_duration(MAX_TIMEOUT)
            ),
        )
        .at(AttributePath::attr("timeouts").then_attr(op.name()))
    })
}

/// The longest timeout accepted: far beyond any real operation, yet small
/// enough that adding it to a clock reading can never overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Why a duration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a Go duration.
    #[error("not a duration")]
    Invalid,
    /// Above [`MAX_TIMEOUT`].
    #[error("longer than the maximum timeout")]
    TooLong,
}

/// Parses Go-style durations with the units h, m, s and ms, up to
/// [`MAX_TIMEOUT`]. Parts are summed with checked arithmetic: each part may
/// fit in a `Duration` while their sum does not.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(DurationError::Invalid);
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        // Digits and dots only: f64 parsing never sees "inf" or "NaN" here.
        let number: f64 = number.parse().map_err(|_| DurationError::Invalid)?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let seconds = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(DurationError::Invalid),
        };
        rest = after;
        let part =
            Duration::try_from_secs_f64(number * seconds).map_err(|_| DurationError::TooLong)?;
        total = total
            .checked_add(part)
            .filter(|t| *t <= MAX_TIMEOUT)
            .ok_or(DurationError::TooLong)?;
    }
    Ok(total)
}

/// The shortest Go duration for `d` ("30m", "1h30m", "90s"), for messages and docs.
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
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30"), Err(DurationError::Invalid));
        assert_eq!(parse_duration("soon"), Err(DurationError::Invalid));
        assert_eq!(parse_duration(""), Err(DurationError::Invalid));
        assert_eq!(parse_duration("infs"), Err(DurationError::Invalid));
    }

    #[test]
    fn sums_that_overflow_are_refused_not_panics() {
        // Issue 14: each part fits in a Duration, their sum does not.
        assert_eq!(
            parse_duration("10000000000000000000s10000000000000000000s"),
            Err(DurationError::TooLong)
        );
        assert_eq!(parse_duration("1e400s"), Err(DurationError::Invalid));
        assert_eq!(
            parse_duration(&format!("{}h", "9".repeat(400))),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            parse_duration(&format_duration(MAX_TIMEOUT)),
            Ok(MAX_TIMEOUT)
        );
    }

    #[test]
    fn formats_defaults() {
        assert_eq!(format_duration(Duration::from_secs(1800)), "30m");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
    }
}
