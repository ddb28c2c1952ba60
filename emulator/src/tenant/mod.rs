//! The emulated Entra tenant: its directory of applications and issued tokens
//! ([`identity`]), the subject name + issuer trust an application may have instead of a
//! registered certificate ([`subject_trust`]), the key that signs the tokens ([`tokens`]) and its
//! subscriptions ([`subscriptions`]). Plain state with no HTTP in it; `state::AppState` holds
//! it behind locks and `api` serves it.

pub(crate) mod identity;
pub(crate) mod subject_trust;
pub(crate) mod subscriptions;
pub(crate) mod tokens;
