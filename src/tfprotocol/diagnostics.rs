//! Diagnostics: what Terraform shows a human. Every error in the provider
//! ends up here, with a summary, a detail that says what to do, and where
//! possible the attribute it is about, so Terraform underlines that line.

use super::proto;
use super::value::{AttributePath, PathStep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub(crate) severity: Severity,
    pub(crate) summary: String,
    pub detail: String,
    pub path: Option<AttributePath>,
}

impl Diagnostic {
    pub(crate) fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    pub(crate) fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    pub(crate) fn at(mut self, path: AttributePath) -> Diagnostic {
        self.path = Some(path);
        self
    }

    pub(crate) fn at_attr(self, name: &str) -> Diagnostic {
        self.at(AttributePath::attr(name))
    }

    pub(crate) fn to_proto(&self) -> proto::Diagnostic {
        proto::Diagnostic {
            severity: match self.severity {
                Severity::Error => proto::diagnostic::Severity::Error as i32,
                Severity::Warning => proto::diagnostic::Severity::Warning as i32,
            },
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute: self.path.as_ref().map(path_to_proto),
        }
    }
}

pub(crate) fn path_to_proto(path: &AttributePath) -> proto::AttributePath {
    use proto::attribute_path::step::Selector;
    proto::AttributePath {
        steps: path
            .steps
            .iter()
            .map(|s| proto::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attribute(a) => Selector::AttributeName(a.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub(crate) fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub(crate) fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub(crate) fn to_proto(&self) -> Vec<proto::Diagnostic> {
        self.0.iter().map(Diagnostic::to_proto).collect()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}
