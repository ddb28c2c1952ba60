//! The VM extension image catalogue (`…/locations/{loc}/publishers/…`) that
//! `az vm extension set` without `--version` walks to find the newest
//! handler version (`shared/facts/azure-identity-and-arm-shapes.md` §8).
//! Lists are bare JSON arrays with ARM's capitalised IDs. Besides a fixed
//! catalogue (VMAccessAgent with realistic 2.x versions), every extension
//! present on an emulated VM (seeded by tests or PUT by clients) is listed.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::response::json_response;
use super::versions::ResourceType;
use crate::state::AppState;

/// Publisher → type → versions, as published in every location.
const CATALOGUE: &[(&str, &str, &[&str])] = &[
    (
        "Microsoft.Compute",
        "VMAccessAgent",
        &[
            "2.0.2", "2.3.0", "2.4.2", "2.4.5", "2.4.6", "2.4.7", "2.4.8", "2.4.9",
        ],
    ),
    (
        "Microsoft.Compute",
        "CustomScriptExtension",
        &["1.9.5", "1.10.12", "1.10.15", "1.10.18"],
    ),
    ("Microsoft.Compute", "BGInfo", &["2.1", "2.2.2", "2.2.5"]),
    (
        "Microsoft.Compute",
        "JsonADDomainExtension",
        &["1.3.6", "1.3.9"],
    ),
    (
        "Microsoft.OSTCExtensions",
        "VMAccessForLinux",
        &["1.4.7.1", "1.5.18", "1.5.19"],
    ),
    (
        "Microsoft.Azure.Extensions",
        "CustomScript",
        &["2.0.7", "2.1.6", "2.1.10"],
    ),
    (
        "Microsoft.Azure.Monitor",
        "AzureMonitorWindowsAgent",
        &["1.22.0.0", "1.28.0.0"],
    ),
];

/// A catalogue path, parsed from the segments after `…/locations/{loc}/`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Path<'a> {
    Publishers,
    Types {
        publisher: &'a str,
    },
    Versions {
        publisher: &'a str,
        extension_type: &'a str,
    },
    Version {
        publisher: &'a str,
        extension_type: &'a str,
        version: &'a str,
    },
}

impl<'a> Path<'a> {
    /// `rest` are the segments after the location.
    pub(super) fn parse(rest: &[&'a str]) -> Option<Path<'a>> {
        let lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        match lower.as_slice() {
            ["publishers"] => Some(Path::Publishers),
            ["publishers", _, "artifacttypes", "vmextension", "types"] => {
                Some(Path::Types { publisher: rest[1] })
            }
            [
                "publishers",
                _,
                "artifacttypes",
                "vmextension",
                "types",
                _,
                "versions",
            ] => Some(Path::Versions {
                publisher: rest[1],
                extension_type: rest[5],
            }),
            [
                "publishers",
                _,
                "artifacttypes",
                "vmextension",
                "types",
                _,
                "versions",
                _,
            ] => Some(Path::Version {
                publisher: rest[1],
                extension_type: rest[5],
                version: rest[7],
            }),
            _ => None,
        }
    }

    pub(super) fn resource_type(&self) -> ResourceType {
        match self {
            Path::Publishers => ResourceType::Publishers,
            Path::Types { .. } => ResourceType::ExtensionTypes,
            Path::Versions { .. } | Path::Version { .. } => ResourceType::ExtensionVersions,
        }
    }
}

/// Query options of the versions list.
#[derive(Debug, Default)]
pub(super) struct ListOptions<'a> {
    pub top: Option<&'a str>,
    pub orderby: Option<&'a str>,
}

/// Publisher (canonical casing) → type → versions.
type Images = BTreeMap<String, (String, BTreeMap<String, (String, Vec<String>)>)>;

/// The fixed catalogue plus every extension on an emulated VM.
fn images(app: &AppState) -> Images {
    fn add(images: &mut Images, publisher: &str, extension_type: &str, version: &str) {
        let (_, types) = images
            .entry(publisher.to_ascii_lowercase())
            .or_insert_with(|| (publisher.to_string(), BTreeMap::new()));
        let (_, versions) = types
            .entry(extension_type.to_ascii_lowercase())
            .or_insert_with(|| (extension_type.to_string(), Vec::new()));
        if !versions.iter().any(|v| v == version) {
            versions.push(version.to_string());
        }
    }
    let mut images = Images::new();
    for (publisher, extension_type, versions) in CATALOGUE {
        for version in *versions {
            add(&mut images, publisher, extension_type, version);
        }
    }
    for vm in app.world().vms.values() {
        for extension in vm.extensions.values() {
            // A handler version "2.4" is published as "2.4.0" at least.
            let version = match extension.config.type_handler_version.matches('.').count() {
                0 => format!("{}.0.0", extension.config.type_handler_version),
                1 => format!("{}.0", extension.config.type_handler_version),
                _ => extension.config.type_handler_version.clone(),
            };
            if !images
                .get(&extension.config.publisher.to_ascii_lowercase())
                .and_then(|(_, types)| {
                    types.get(&extension.config.extension_type.to_ascii_lowercase())
                })
                .is_some_and(|(_, versions)| {
                    versions.iter().any(|v| {
                        v.starts_with(&format!("{}.", extension.config.type_handler_version))
                    })
                })
            {
                add(
                    &mut images,
                    &extension.config.publisher,
                    &extension.config.extension_type,
                    &version,
                );
            }
        }
    }
    images
}

fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"error": {"code": "NotFound", "message": "The entity was not found in this Azure location."}}),
    )
}

/// Orders version names numerically, component by component.
fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// Answers a catalogue request for `location` in `subscription`.
pub(super) fn handle(
    app: &AppState,
    subscription: &str,
    location: &str,
    path: &Path<'_>,
    options: &ListOptions<'_>,
) -> Response {
    let location = location.to_ascii_lowercase();
    let base = format!(
        "/Subscriptions/{subscription}/Providers/Microsoft.Compute/Locations/{location}/Publishers"
    );
    let images = images(app);
    let entry = |id: String, name: &str| json!({"location": location, "name": name, "id": id});
    match path {
        Path::Publishers => {
            let list: Vec<Value> = images
                .values()
                .map(|(publisher, _)| entry(format!("{base}/{publisher}"), publisher))
                .collect();
            json_response(StatusCode::OK, Value::Array(list))
        }
        Path::Types { publisher } => {
            let Some((publisher, types)) = images.get(&publisher.to_ascii_lowercase()) else {
                return not_found();
            };
            let list: Vec<Value> = types
                .values()
                .map(|(name, _)| {
                    entry(
                        format!("{base}/{publisher}/ArtifactTypes/VMExtension/Types/{name}"),
                        name,
                    )
                })
                .collect();
            json_response(StatusCode::OK, Value::Array(list))
        }
        Path::Versions {
            publisher,
            extension_type,
        } => {
            let Some((publisher, (name, versions))) = images
                .get(&publisher.to_ascii_lowercase())
                .and_then(|(p, types)| {
                    types
                        .get(&extension_type.to_ascii_lowercase())
                        .map(|t| (p, t))
                })
            else {
                return not_found();
            };
            let mut versions = versions.clone();
            versions.sort_by_key(|v| version_key(v));
            if options
                .orderby
                .is_some_and(|o| o.to_ascii_lowercase().contains("desc"))
            {
                versions.reverse();
            }
            if let Some(top) = options.top.and_then(|t| t.parse::<usize>().ok()) {
                versions.truncate(top);
            }
            let list: Vec<Value> = versions
                .iter()
                .map(|v| {
                    entry(
                        format!(
                            "{base}/{publisher}/ArtifactTypes/VMExtension/Types/{name}/Versions/{v}"
                        ),
                        v,
                    )
                })
                .collect();
            json_response(StatusCode::OK, Value::Array(list))
        }
        Path::Version {
            publisher,
            extension_type,
            version,
        } => {
            let found = images
                .get(&publisher.to_ascii_lowercase())
                .and_then(|(p, types)| {
                    types
                        .get(&extension_type.to_ascii_lowercase())
                        .map(|(t, versions)| (p, t, versions))
                })
                .filter(|(_, _, versions)| versions.iter().any(|v| v == version));
            let Some((publisher, name, _)) = found else {
                return not_found();
            };
            let windows = !publisher.eq_ignore_ascii_case("Microsoft.OSTCExtensions")
                && !publisher.eq_ignore_ascii_case("Microsoft.Azure.Extensions");
            let mut body = entry(
                format!(
                    "{base}/{publisher}/ArtifactTypes/VMExtension/Types/{name}/Versions/{version}"
                ),
                version,
            );
            body["properties"] = json!({
                "operatingSystem": if windows { "Windows" } else { "Linux" },
                "computeRole": "IaaS",
                "handlerSchema": "",
                "vmScaleSetEnabled": true,
                "supportsMultipleExtensions": false,
            });
            json_response(StatusCode::OK, body)
        }
    }
}
