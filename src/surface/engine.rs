//! The engine and the fleet reader of the shared [`Runtime`], or the diagnostic that says why
//! there are none (the provider's Azure settings are incomplete or wrong).

use std::sync::Arc;

use crate::azure::ArmClient;
use crate::runtime::Runtime;
use crate::tfprotocol::Diagnostic;
use crate::vmaccess::Engine;
use crate::vmaccess::discovery::FleetReader;

use super::diagnostics::general_diagnostic;

const SETTING_UP: &str = "setting up the Azure client";

/// The engine over the runtime's ARM client.
pub(crate) fn engine(runtime: &Runtime) -> Result<Engine<ArmClient>, Diagnostic> {
    runtime
        .engine()
        .map_err(|e| general_diagnostic(&e, SETTING_UP))
}

/// Fleet discovery's reads over the runtime's ARM client.
pub(crate) fn fleet_reader(runtime: &Runtime) -> Result<Arc<dyn FleetReader>, Diagnostic> {
    runtime
        .fleet_reader()
        .map_err(|e| general_diagnostic(&e, SETTING_UP))
}
