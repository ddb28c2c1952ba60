//! The emulated Entra tenant: its directory of applications and issued tokens
//! ([`identity`]), the key that signs the tokens ([`tokens`]) and its subscriptions
//! ([`subscriptions`]). Plain state with no HTTP in it; `state::AppState` holds it behind
//! locks and `api` serves it.

pub(crate) mod identity;
pub(crate) mod subscriptions;
pub(crate) mod tokens;
