//! Cloud metadata (`/metadata/endpoints`), the document clients use to find
//! the Resource Manager and login endpoints of a custom cloud.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::json_response;
use crate::ARM_AUDIENCE;
use crate::state::AppState;

/// `GET /metadata/endpoints?api-version=2022-09-01`.
pub async fn endpoints(State(app): State<Arc<AppState>>) -> Response {
    let base = format!("{}/", app.endpoint);
    json_response(
        StatusCode::OK,
        json!({
            "portal": base,
            "authentication": {
                "loginEndpoint": base,
                "audiences": [ARM_AUDIENCE],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "media": "",
            "graphAudience": "",
            "graph": "",
            "name": "AzureEmulator",
            "suffixes": {
                "azureDataLakeStoreFileSystem": "",
                "acrLoginServer": "azurecr.emulator.local",
                "sqlServerHostname": "database.emulator.local",
                "azureDataLakeAnalyticsCatalogAndJob": "",
                "keyVaultDns": "vault.emulator.local",
                "storage": "core.emulator.local",
                "azureFrontDoorEndpointSuffix": "",
                "storageSyncEndpointSuffix": "",
                "mhsmDns": "",
                "mysqlServerEndpoint": "",
                "postgresqlServerEndpoint": "",
                "mariadbServerEndpoint": "",
                "synapseAnalytics": "",
                "attestationEndpoint": "",
            },
            "batch": "",
            "resourceManager": base,
            "vmImageAliasDoc": "",
            "activeDirectoryDataLake": "",
            "sqlManagement": "",
            "microsoftGraphResourceId": "",
            "appInsightsResourceId": "",
            "appInsightsTelemetryChannelResourceId": "",
            "attestationResourceId": "",
            "synapseAnalyticsResourceId": "",
            "logAnalyticsResourceId": "",
            "ossrDbmsResourceId": "",
        }),
    )
}
