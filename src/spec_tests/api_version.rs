//! The provider's Compute api-version is current: the vendored definitions are the version it
//! calls, and every newer stable version (`spec/compute-stable-versions.txt`) is named in
//! `spec/api-version-allow.tsv` with the reason the provider has not moved to it.

use std::path::Path;

use spec_check::COMPUTE_DIR;

use crate::azure::spec_access::COMPUTE_API_VERSION;

use super::spec_root;

/// Where upstream keeps Compute's stable api-versions, relative to the specification root: one
/// folder per version (`ComputeRP/stable` up to 2025-11-01, `Compute/stable` after).
const STABLE_FOLDERS: &[&str] = &[
    "specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable",
    "specification/compute/resource-manager/Microsoft.Compute/Compute/stable",
];

/// What is wrong with the provider's api-version `provider`, given the api-versions whose Compute
/// files are vendored, the stable versions upstream lists, and the allow-list (version, reason).
/// Versions are `YYYY-MM-DD`, so their order is their text's.
fn currency_problems(
    provider: &str,
    vendored: &[String],
    stable: &[String],
    allowed: &[(String, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
    if vendored != [provider] {
        problems.push(format!(
            "the vendored Compute definitions are for {vendored:?}, but the provider calls \
             {provider}: vendor exactly the version it calls (spec/refresh.sh COMMIT {provider})"
        ));
    }
    for version in stable
        .iter()
        .chain(allowed.iter().map(|(version, _)| version))
    {
        if !is_version(version) {
            problems.push(format!("{version:?} is not an api-version (YYYY-MM-DD)"));
        }
    }
    if !stable.iter().any(|version| version == provider) {
        problems.push(format!(
            "the provider's api-version {provider} is not in spec/compute-stable-versions.txt"
        ));
    }
    for newer in stable.iter().filter(|version| version.as_str() > provider) {
        match allowed.iter().find(|(version, _)| version == newer) {
            None => problems.push(format!(
                "Compute api-version {newer} is newer than the provider's {provider}: move the \
                 provider to it, or name it in spec/api-version-allow.tsv with the reason it stays"
            )),
            Some((_, reason)) if reason.trim().is_empty() => problems.push(format!(
                "spec/api-version-allow.tsv allows {newer} without a reason"
            )),
            Some(_) => {}
        }
    }
    for (version, _) in allowed {
        if version.as_str() <= provider || !stable.contains(version) {
            problems.push(format!(
                "spec/api-version-allow.tsv names {version}, which is not a stable version newer \
                 than the provider's {provider}: remove the entry"
            ));
        }
    }
    problems
}

fn is_version(text: &str) -> bool {
    text.len() == 10
        && text.char_indices().all(|(index, c)| match index {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        })
}

/// The lines of a list file that are neither blank nor `#` comments, trimmed of line ends.
fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The api-versions of the vendored Compute files: the version folders present, and the one
/// spec-check validates against (`COMPUTE_DIR`).
fn vendored_versions(root: &Path) -> Vec<String> {
    let mut versions: Vec<String> = STABLE_FOLDERS
        .iter()
        .filter_map(|folder| std::fs::read_dir(root.join(folder)).ok())
        .flatten()
        .filter_map(|entry| Some(entry.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    let checked = COMPUTE_DIR.rsplit('/').next().unwrap_or(COMPUTE_DIR);
    versions.push(checked.to_owned());
    versions.sort();
    versions.dedup();
    versions
}

#[test]
fn spec_api_version_is_current() {
    let root = spec_root();
    let stable: Vec<String> = entries(&read(&root.join("compute-stable-versions.txt")))
        .map(|line| line.trim().to_owned())
        .collect();
    let allowed: Vec<(String, String)> = entries(&read(&root.join("api-version-allow.tsv")))
        .map(|line| match line.split_once('\t') {
            Some((version, reason)) => (version.trim().to_owned(), reason.trim().to_owned()),
            None => (line.trim().to_owned(), String::new()),
        })
        .collect();
    let problems = currency_problems(
        COMPUTE_API_VERSION,
        &vendored_versions(&root),
        &stable,
        &allowed,
    );
    assert!(
        problems.is_empty(),
        "the provider's Compute api-version {COMPUTE_API_VERSION} is not current:\n{}",
        problems.join("\n")
    );
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn allow(entries: &[(&str, &str)]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|(version, reason)| ((*version).to_owned(), (*reason).to_owned()))
        .collect()
}

#[test]
fn spec_currency_passes_on_the_newest_version_or_newer_ones_allowed_with_a_reason() {
    let vendored = strings(&["2025-04-01"]);
    let stable = strings(&["2024-11-01", "2025-04-01"]);
    assert_eq!(
        currency_problems("2025-04-01", &vendored, &stable, &[]),
        Vec::<String>::new()
    );
    let stable = strings(&["2024-11-01", "2025-04-01", "2025-11-01"]);
    let allowed = allow(&[("2025-11-01", "not vendored yet")]);
    assert_eq!(
        currency_problems("2025-04-01", &vendored, &stable, &allowed),
        Vec::<String>::new()
    );
}

#[test]
fn spec_currency_fails_naming_a_newer_version_not_allowed_or_allowed_without_a_reason() {
    let vendored = strings(&["2025-04-01"]);
    let stable = strings(&["2025-04-01", "2025-11-01", "2026-04-01"]);
    let allowed = allow(&[("2025-11-01", "  ")]);
    let problems = currency_problems("2025-04-01", &vendored, &stable, &allowed);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("allows 2025-11-01 without a reason"));
    assert!(
        problems[1]
            .starts_with("Compute api-version 2026-04-01 is newer than the provider's 2025-04-01")
    );
}

#[test]
fn spec_currency_fails_when_the_vendored_files_are_not_the_version_called() {
    let stable = strings(&["2024-11-01", "2025-04-01"]);
    for vendored in [
        strings(&["2024-11-01"]),
        strings(&["2024-11-01", "2025-04-01"]),
        Vec::new(),
    ] {
        let problems = currency_problems("2025-04-01", &vendored, &stable, &[]);
        assert_eq!(problems.len(), 1, "{vendored:?}: {problems:#?}");
        assert!(
            problems[0].contains("the provider calls 2025-04-01"),
            "{problems:#?}"
        );
    }
}

#[test]
fn spec_currency_fails_on_stale_entries_and_versions_that_are_not_versions() {
    let vendored = strings(&["2025-04-01"]);
    let stable = strings(&["2024-11-01", "2025-04-01", "2025-11"]);
    let allowed = allow(&[("2024-11-01", "older"), ("2027-01-01", "not listed")]);
    let problems = currency_problems("2025-04-01", &vendored, &stable, &allowed);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"2025-11\" is not an api-version")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("names 2024-11-01")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("names 2027-01-01")),
        "{problems:#?}"
    );
    // The provider's own version must be a listed stable one.
    let problems = currency_problems("2025-04-01", &vendored, &strings(&["2024-11-01"]), &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("is not in spec/compute-stable-versions.txt"));
}
