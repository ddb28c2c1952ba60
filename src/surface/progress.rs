//! How an action's progress lines read, for every action.

use std::time::Duration;

use crate::tfprotocol::timeouts::format_duration;

/// Time since an action started, as its progress lines show it: tenths of a second for the
/// first minute, then Terraform's duration form (`1m30s`).
pub(crate) fn elapsed(elapsed: Duration) -> String {
    match elapsed.as_secs() {
        0..60 => format!("{:.1}s", elapsed.as_secs_f64()),
        secs => format_duration(Duration::from_secs(secs)),
    }
}
