//! The plan rules a schema declares (defaults, write-only nulling, unknown
//! computed values, keeping prior values, replacement), applied to the
//! proposed new state before the resource's own `plan`.

use super::schema::Block;
use super::value::{AttributePath, Object, Value};

/// Turns the proposed new state into the plan the schema implies and
/// returns the attributes whose change replaces the resource.
pub(crate) fn apply(
    block: &Block,
    config: &Object,
    prior: Option<&Object>,
    planned: &mut Object,
) -> Vec<AttributePath> {
    for a in &block.attributes {
        if let Some(default) = &a.default
            && config.is_null(&a.name)
        {
            planned.set(&a.name, default.clone());
        }
    }
    block.null_write_only(planned);
    // Unset computed values are decided by apply, but only when something
    // changes: an unchanged object plans no changes at all.
    if prior != Some(planned) {
        for a in block
            .attributes
            .iter()
            .filter(|a| a.computed && a.default.is_none())
        {
            if !config.is_null(&a.name) {
                continue;
            }
            match prior {
                Some(p) if a.use_state_for_unknown => planned.set(&a.name, p.get(&a.name).clone()),
                _ => planned.set(&a.name, Value::Unknown),
            }
        }
    }
    let Some(prior) = prior else {
        return Vec::new();
    };
    block
        .attributes
        .iter()
        .filter(|a| a.requires_replace && planned.get(&a.name) != prior.get(&a.name))
        .map(|a| AttributePath::attr(&a.name))
        .collect()
}
