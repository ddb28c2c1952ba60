//! Matching request paths against the specification's path templates.
//!
//! A template such as `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/…`
//! matches a path with as many segments where each literal segment is equal ignoring ASCII case
//! (ARM treats resource types and keywords case-insensitively) and each `{param}` matches one
//! non-empty segment. A segment that mixes literals and parameters (`{a}.{b}`) matches too, each
//! parameter taking at least one character. Request segments are percent-decoded before literals
//! are compared.

use crate::docs::percent_decode;

/// A parsed path template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    segments: Vec<Vec<Piece>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Param,
}

impl Template {
    /// Parses a template as written under `paths` in a swagger file.
    pub(crate) fn parse(template: &str) -> Template {
        let segments = split(template).map(parse_segment).collect();
        Template { segments }
    }

    /// How specific this template's match of `path` is (the number of literal characters; more
    /// is more specific), or `None` when it does not match.
    pub(crate) fn matches(&self, path: &str) -> Option<usize> {
        let path_segments: Vec<String> = split(path).map(percent_decode).collect();
        if path_segments.len() != self.segments.len() {
            return None;
        }
        let mut score = 0;
        for (pieces, segment) in self.segments.iter().zip(&path_segments) {
            if !segment_matches(pieces, segment.as_bytes()) {
                return None;
            }
            score += pieces
                .iter()
                .map(|piece| match piece {
                    Piece::Literal(text) => text.len(),
                    Piece::Param => 0,
                })
                .sum::<usize>();
        }
        Some(score)
    }
}

/// The segments of a path, without the leading `/`. `/a/b/` has a last, empty, segment.
fn split(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

fn parse_segment(segment: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = segment;
    while !rest.is_empty() {
        match (rest.find('{'), rest.find('}')) {
            (Some(0), Some(close)) => {
                pieces.push(Piece::Param);
                rest = &rest[close + 1..];
            }
            (Some(open), _) if open > 0 => {
                pieces.push(Piece::Literal(rest[..open].to_owned()));
                rest = &rest[open..];
            }
            _ => {
                pieces.push(Piece::Literal(rest.to_owned()));
                rest = "";
            }
        }
    }
    pieces
}

/// Whether `text` matches the pieces of one template segment (backtracking over where each
/// parameter ends; segments are short).
fn segment_matches(pieces: &[Piece], text: &[u8]) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Literal(literal), rest)) => {
            let literal = literal.as_bytes();
            text.len() >= literal.len()
                && text[..literal.len()].eq_ignore_ascii_case(literal)
                && segment_matches(rest, &text[literal.len()..])
        }
        Some((Piece::Param, rest)) => {
            (1..=text.len()).any(|end| segment_matches(rest, &text[end..]))
        }
    }
}

/// A path with its variable segments replaced by `{}`, for grouping paths that match no
/// operation: ARM paths alternate a collection keyword and a name, except that `providers` is
/// followed by a namespace.
pub(crate) fn normalize_route(path: &str) -> String {
    let mut out = String::new();
    let mut expect_name = false;
    let mut after_providers = false;
    for segment in split(path) {
        out.push('/');
        if after_providers {
            out.push_str(segment);
            after_providers = false;
            expect_name = false;
        } else if expect_name {
            out.push_str("{}");
            expect_name = false;
        } else {
            out.push_str(segment);
            after_providers = segment.eq_ignore_ascii_case("providers");
            expect_name = !after_providers;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}";

    #[test]
    fn literals_match_ignoring_case_and_params_take_one_segment() {
        let template = Template::parse(VM);
        let path =
            "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/VIRTUALMACHINES/vm1";
        assert!(template.matches(path).is_some());
        assert!(template.matches(&format!("{path}/extensions")).is_none());
        assert!(template.matches("/subscriptions/s1/resourceGroups//providers/Microsoft.Compute/virtualMachines/vm1").is_none());
        assert!(template.matches(&format!("{path}/")).is_none());
    }

    #[test]
    fn percent_encoded_literals_and_mixed_segments_match() {
        let template = Template::parse("/a/{x}.{y}/Microsoft.Compute");
        assert!(template.matches("/a/one.two/Microsoft%2ECompute").is_some());
        assert!(template.matches("/a/.two/Microsoft.Compute").is_none());
        assert!(template.matches("/a/onetwo/Microsoft.Compute").is_none());
    }

    #[test]
    fn a_literal_is_more_specific_than_a_parameter() {
        let literal = Template::parse("/vms/{vm}/instanceView").matches("/vms/a/instanceView");
        let param = Template::parse("/vms/{vm}/{child}").matches("/vms/a/instanceView");
        assert!(literal > param);
    }

    #[test]
    fn routes_normalize_names_but_keep_keywords_and_namespaces() {
        assert_eq!(
            normalize_route(
                "/subscriptions/s/providers/Microsoft.Compute/locations/westeurope/operations/123"
            ),
            "/subscriptions/{}/providers/Microsoft.Compute/locations/{}/operations/{}"
        );
        assert_eq!(
            normalize_route("/providers/Microsoft.Compute/operations"),
            "/providers/Microsoft.Compute/operations"
        );
    }
}
