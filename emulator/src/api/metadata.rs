//! Cloud metadata (`/metadata/endpoints`), the document clients use to find
//! the Resource Manager and login endpoints of a custom cloud. Every field
//! public Azure's 2022-09-01 document has is filled: azurerm requires
//! `microsoftGraphResourceId`, the az CLI indexes `suffixes` directly.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::response::json_response;
use crate::config::ARM_AUDIENCE;
use crate::state::AppState;
use crate::tenant::tokens::GRAPH_RESOURCE;

/// `GET /metadata/endpoints?api-version=2022-09-01`.
pub(super) async fn endpoints(State(app): State<Arc<AppState>>) -> Response {
    let base = format!("{}/", app.endpoint);
    json_response(
        StatusCode::OK,
        json!({
            "portal": base,
            "authentication": {
                "loginEndpoint": app.endpoint,
                "audiences": [ARM_AUDIENCE, base],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "media": "https://rest.media.emulator.local",
            "graphAudience": "https://graph.windows.net/",
            "graph": "https://graph.windows.net/",
            "name": "AzureEmulator",
            "suffixes": {
                "azureDataLakeStoreFileSystem": "azuredatalakestore.emulator.local",
                "acrLoginServer": "azurecr.emulator.local",
                "sqlServerHostname": "database.emulator.local",
                "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.emulator.local",
                "keyVaultDns": "vault.emulator.local",
                "storage": "core.emulator.local",
                "azureFrontDoorEndpointSuffix": "azurefd.emulator.local",
                "storageSyncEndpointSuffix": "afs.emulator.local",
                "mhsmDns": "managedhsm.emulator.local",
                "mysqlServerEndpoint": "mysql.database.emulator.local",
                "postgresqlServerEndpoint": "postgres.database.emulator.local",
                "mariadbServerEndpoint": "mariadb.database.emulator.local",
                "synapseAnalytics": "dev.azuresynapse.emulator.local",
                "attestationEndpoint": "attest.emulator.local",
            },
            "batch": "https://batch.emulator.local/",
            "resourceManager": base,
            "vmImageAliasDoc": format!("{base}vmImageAliasDoc"),
            "activeDirectoryDataLake": "https://datalake.emulator.local/",
            "sqlManagement": "https://management.emulator.local:8443/",
            "microsoftGraphResourceId": GRAPH_RESOURCE,
            "appInsightsResourceId": "https://api.applicationinsights.emulator.local",
            "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.emulator.local/v2/track",
            "attestationResourceId": "https://attest.emulator.local",
            "synapseAnalyticsResourceId": "https://dev.azuresynapse.emulator.local",
            "logAnalyticsResourceId": "https://api.loganalytics.emulator.local",
            "ossrDbmsResourceId": "https://ossrdbms-aad.database.emulator.local",
        }),
    )
}
