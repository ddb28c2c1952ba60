//! The emulator's spec log: JSON Lines files of the ARM requests it served and its answers,
//! validated record by record.
//!
//! A record (`{"method", "path", "query", "status", "request_body", "response_body"}`, one per
//! line, in `<dir>/*.jsonl`) whose method and path match an operation has its response
//! validated; its request body too when it has one and the emulator accepted the request (a 2xx
//! status): a request the emulator refused may be wrong on purpose (a test of the refusal), and
//! the refusal is what the test checks.
//!
//! A finding that a [known deviation](crate::deviations) explains (documented Azure behaviour
//! the definitions do not describe) is counted under the deviation, not as a finding.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::deviations::Deviation;
use crate::{Finding, Spec};

/// How many findings (after folding duplicates) and unmatched routes the summary prints.
const MAX_FINDING_LINES: usize = 50;
const MAX_UNMATCHED_LINES: usize = 10;

/// An error reading a log directory.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The directory or a file in it could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The directory holds no `*.jsonl` file: nothing was logged there.
    #[error("{} holds no *.jsonl file (was VM_EMULATOR_SPEC_LOG set to it?)", path.display())]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

/// One line of the log.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// The request method.
    pub method: String,
    /// The request path, as received (percent-encoded).
    pub path: String,
    /// The raw query string, `""` when there is none.
    #[serde(default)]
    pub query: String,
    /// The response status.
    pub status: u16,
    /// The request body, when it was JSON.
    #[serde(default)]
    pub request_body: Option<Value>,
    /// The response body, when it was JSON.
    #[serde(default)]
    pub response_body: Option<Value>,
    /// A body was there but was not JSON.
    #[serde(default)]
    pub non_json_body: bool,
}

/// What one operation's records amounted to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OperationCounts {
    /// Responses validated.
    pub responses: usize,
    /// Request bodies validated.
    pub requests: usize,
    /// Findings (before folding duplicates), known deviations not included.
    pub findings: usize,
}

/// The result of validating a log directory.
#[derive(Debug, Default)]
pub struct LogReport {
    /// `*.jsonl` files read.
    pub files: usize,
    /// Records read.
    pub records: usize,
    /// Lines that are not records: file, line number (1-based) and why.
    pub unreadable: Vec<(PathBuf, usize, String)>,
    /// Responses validated.
    pub responses_validated: usize,
    /// Request bodies validated.
    pub requests_validated: usize,
    /// Per operation id.
    pub per_operation: BTreeMap<String, OperationCounts>,
    /// Records that match no operation: `METHOD /normalized/{}/route` → count.
    pub unmatched: BTreeMap<String, usize>,
    /// Findings with array indices in their pointer folded to `*`, and how often each came.
    pub findings: BTreeMap<Finding, usize>,
    /// Findings that a known deviation explains, counted per deviation.
    pub deviations: BTreeMap<Deviation, usize>,
}

impl LogReport {
    /// Whether any finding was made (known deviations are not findings).
    pub fn has_findings(&self) -> bool {
        !self.findings.is_empty()
    }

    /// Validates one record.
    pub fn add(&mut self, spec: &Spec, record: &Record) {
        self.records += 1;
        let Some(operation) = spec.operation_for(&record.method, &record.path) else {
            let route = crate::paths::normalize_route(&record.path);
            *self
                .unmatched
                .entry(format!("{} {route}", record.method))
                .or_default() += 1;
            return;
        };
        let counts = self
            .per_operation
            .entry(operation.id().to_owned())
            .or_default();
        let mut findings =
            operation.validate_response(record.status, record.response_body.as_ref());
        counts.responses += 1;
        self.responses_validated += 1;
        let accepted = (200..300).contains(&record.status);
        if let Some(body) = record.request_body.as_ref().filter(|body| !body.is_null()) {
            if accepted {
                findings.extend(operation.validate_request_body(body));
                counts.requests += 1;
                self.requests_validated += 1;
            }
        }
        for mut finding in findings {
            let response_body = record.response_body.as_ref();
            if let Some(deviation) = Deviation::classify(record.status, response_body, &finding) {
                *self.deviations.entry(deviation).or_default() += 1;
                continue;
            }
            counts.findings += 1;
            finding.pointer = fold_indices(&finding.pointer);
            *self.findings.entry(finding).or_default() += 1;
        }
    }
}

/// Reads every `*.jsonl` file in `dir` and validates its records against `spec`.
pub fn validate_dir(spec: &Spec, dir: &Path) -> Result<LogReport, LogError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LogError::Read { path, source }
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error(dir))? {
        let path = entry.map_err(read_error(dir))?.path();
        if path.extension().is_some_and(|ext| ext == "jsonl") && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(LogError::Empty {
            path: dir.to_path_buf(),
        });
    }
    files.sort();
    let mut report = LogReport::default();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(read_error(&file))?;
        report.files += 1;
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(line) {
                Ok(record) => report.add(spec, &record),
                Err(error) => report
                    .unreadable
                    .push((file.clone(), index + 1, error.to_string())),
            }
        }
    }
    Ok(report)
}

/// `/value/3/properties` → `/value/*/properties`: one finding per place in the shape, not per
/// list element. (A map key made of digits folds too; ARM bodies key no maps that way.)
fn fold_indices(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl fmt::Display for LogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "spec-check: {} records read from {} files",
            self.records, self.files
        )?;
        writeln!(f, "responses validated: {}", self.responses_validated)?;
        writeln!(f, "requests validated: {}", self.requests_validated)?;
        if !self.unreadable.is_empty() {
            writeln!(f, "unreadable lines: {}", self.unreadable.len())?;
            for (file, line, error) in self.unreadable.iter().take(MAX_UNMATCHED_LINES) {
                writeln!(f, "  {}:{line}: {error}", file.display())?;
            }
        }
        writeln!(f, "per operation:")?;
        let width = self
            .per_operation
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(0);
        for (id, counts) in &self.per_operation {
            writeln!(
                f,
                "  {id:<width$}  {} responses, {} requests, {} findings",
                counts.responses, counts.requests, counts.findings
            )?;
        }
        let unmatched: usize = self.unmatched.values().sum();
        writeln!(f, "records matching no operation: {unmatched}")?;
        let mut routes: Vec<(&String, &usize)> = self.unmatched.iter().collect();
        routes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (route, count) in routes.iter().take(MAX_UNMATCHED_LINES) {
            writeln!(f, "  {count:>6}  {route}")?;
        }
        if routes.len() > MAX_UNMATCHED_LINES {
            writeln!(
                f,
                "  … and {} more routes",
                routes.len() - MAX_UNMATCHED_LINES
            )?;
        }
        let known: usize = self.deviations.values().sum();
        writeln!(
            f,
            "known deviations (documented Azure behaviour the definitions do not describe): {known}"
        )?;
        for deviation in Deviation::ALL {
            let count = self.deviations.get(&deviation).copied().unwrap_or(0);
            writeln!(
                f,
                "  {count:>6}x {deviation}: {}; source: {}",
                deviation.what(),
                deviation.source()
            )?;
        }
        let total: usize = self.findings.values().sum();
        writeln!(f, "findings: {total} ({} distinct)", self.findings.len())?;
        let mut findings: Vec<(&Finding, &usize)> = self.findings.iter().collect();
        findings.sort_by(|a, b| {
            b.1.cmp(a.1)
                .then_with(|| a.0.to_string().cmp(&b.0.to_string()))
        });
        for (finding, count) in findings.iter().take(MAX_FINDING_LINES) {
            writeln!(f, "  {count:>6}x {finding}")?;
        }
        if findings.len() > MAX_FINDING_LINES {
            writeln!(f, "  … and {} more", findings.len() - MAX_FINDING_LINES)?;
        }
        Ok(())
    }
}
