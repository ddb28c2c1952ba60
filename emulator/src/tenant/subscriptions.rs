//! The tenant's subscriptions: the configured one always exists; tests add more through
//! `POST /_emulator/subscriptions`. The ARM endpoints that list and get them are
//! `api::subscriptions`.

use serde_json::{Value, json};

use crate::config::EmulatorConfig;

/// Real ARM pages subscriptions at this size.
const DEFAULT_PAGE_SIZE: usize = 100;

/// A subscription of the tenant.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: String,
    pub display_name: String,
    /// `Enabled`, `Disabled`, `Warned`, `PastDue` or `Deleted`.
    pub state: String,
}

/// The tenant's subscriptions, in creation order.
#[derive(Debug)]
pub(crate) struct Subscriptions {
    tenant: String,
    pub list: Vec<Subscription>,
    /// Subscriptions per page of the list.
    pub page_size: usize,
}

impl Subscriptions {
    pub(crate) fn new(config: &EmulatorConfig) -> Subscriptions {
        Subscriptions {
            tenant: config.tenant_id.clone(),
            list: vec![Subscription {
                id: config.subscription_id.clone(),
                display_name: "Emulator Subscription".into(),
                state: "Enabled".into(),
            }],
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// Whether ARM serves resources under `id`.
    pub(crate) fn exists(&self, id: &str) -> bool {
        self.list.iter().any(|s| s.id.eq_ignore_ascii_case(id))
    }

    /// The ARM JSON of `s` (`Microsoft.Resources/subscriptions`).
    pub(crate) fn body(&self, s: &Subscription) -> Value {
        json!({
            "id": format!("/subscriptions/{}", s.id),
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": s.id,
            "tenantId": self.tenant,
            "displayName": s.display_name,
            "state": s.state,
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        })
    }
}
