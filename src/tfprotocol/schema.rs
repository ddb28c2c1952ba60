//! Schemas as resource code declares them, with the plan rules that belong
//! to an attribute (defaults, replacement, keeping prior computed values)
//! declared next to it rather than re-implemented per resource.

use super::proto;
use super::types::Type;
use super::value::{Object, Value};

#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub(crate) version: i64,
    pub block: Block,
}

/// The attributes and nested blocks of a schema or of a nested block.
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub(crate) description: String,
    /// In declaration order.
    pub attributes: Vec<Attribute>,
    /// In declaration order.
    pub blocks: Vec<NestedBlock>,
}

/// Only single nested blocks are needed (`timeouts`).
#[derive(Debug, Clone)]
pub struct NestedBlock {
    /// The block's name in configuration.
    pub type_name: String,
    /// What it holds.
    pub block: Block,
}

/// One attribute, with the flags Terraform's schema gives it.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Its name in configuration.
    pub name: String,
    pub(crate) ty: Type,
    pub(crate) description: String,
    /// The configuration must set it.
    pub required: bool,
    /// The configuration may set it.
    pub optional: bool,
    /// The provider may set it (when optional too: if the configuration does not).
    pub computed: bool,
    /// Terraform hides its value in output.
    pub sensitive: bool,
    /// Accepted in configuration, never stored in plan or state.
    pub write_only: bool,
    /// A change to this attribute replaces the resource.
    pub(crate) requires_replace: bool,
    /// Planned when the configuration leaves the attribute null.
    pub default: Option<Value>,
    /// A computed value that does not change on update keeps its prior value
    /// instead of becoming "known after apply".
    pub(crate) use_state_for_unknown: bool,
    /// Environment variables consulted when the configuration is null
    /// (provider settings); documented in the description.
    pub(crate) env: Vec<&'static str>,
}

/// Builder setters that switch one of an attribute's flags on.
macro_rules! flags {
    ($($flag:ident),* $(,)?) => {
        $(
            #[doc = concat!("Marks the attribute `", stringify!($flag), "`.")]
            pub(crate) fn $flag(mut self) -> Attribute {
                self.$flag = true;
                self
            }
        )*
    };
}

impl Attribute {
    pub(crate) fn new(name: &str, ty: Type) -> Attribute {
        Attribute {
            name: name.to_string(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            requires_replace: false,
            default: None,
            use_state_for_unknown: false,
            env: Vec::new(),
        }
    }

    pub(crate) fn string(name: &str) -> Attribute {
        Attribute::new(name, Type::String)
    }

    pub(crate) fn bool(name: &str) -> Attribute {
        Attribute::new(name, Type::Bool)
    }

    pub(crate) fn number(name: &str) -> Attribute {
        Attribute::new(name, Type::Number)
    }

    flags! {
        required,
        optional,
        computed,
        sensitive,
        write_only,
        requires_replace,
        use_state_for_unknown,
    }

    /// A default makes the attribute optional and computed, as Terraform
    /// needs to accept a planned value the configuration did not set.
    pub(crate) fn default(mut self, value: Value) -> Attribute {
        self.optional = true;
        self.computed = true;
        self.default = Some(value);
        self
    }

    pub(crate) fn env(mut self, vars: &[&'static str]) -> Attribute {
        self.env = vars.to_vec();
        self
    }

    pub(crate) fn description(mut self, text: &str) -> Attribute {
        self.description = text.to_string();
        self
    }

    /// The description Terraform shows, with the environment fallback.
    fn full_description(&self) -> String {
        match self.env.as_slice() {
            [] => self.description.clone(),
            vars => {
                let list = vars
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", then ");
                format!("{} Falls back to {list}.", self.description)
            }
        }
    }
}

impl Block {
    pub(crate) fn new(description: &str) -> Block {
        Block {
            description: description.to_string(),
            ..Block::default()
        }
    }

    pub(crate) fn attribute(mut self, attr: Attribute) -> Block {
        self.attributes.push(attr);
        self
    }

    pub(crate) fn block(mut self, type_name: &str, block: Block) -> Block {
        self.blocks.push(NestedBlock {
            type_name: type_name.to_string(),
            block,
        });
        self
    }

    /// The object type Terraform encodes this block's values with.
    pub fn implied_type(&self) -> Type {
        let mut attrs: std::collections::BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            attrs.insert(b.type_name.clone(), b.block.implied_type());
        }
        Type::Object(attrs)
    }

    /// Nulls every write-only attribute: Terraform rejects them in plan,
    /// state and read results.
    pub(crate) fn null_write_only(&self, obj: &mut Object) {
        for a in self.attributes.iter().filter(|a| a.write_only) {
            obj.set(&a.name, Value::Null);
        }
    }

    pub(crate) fn to_proto(&self) -> proto::schema::Block {
        proto::schema::Block {
            version: 0,
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self
                .blocks
                .iter()
                .map(|b| proto::schema::NestedBlock {
                    type_name: b.type_name.clone(),
                    block: Some(b.block.to_proto()),
                    nesting: proto::schema::nested_block::NestingMode::Single as i32,
                    min_items: 0,
                    max_items: 0,
                })
                .collect(),
            description: self.description.clone(),
            description_kind: proto::StringKind::Markdown as i32,
            deprecated: false,
            deprecation_message: String::new(),
        }
    }
}

impl Attribute {
    fn to_proto(&self) -> proto::schema::Attribute {
        proto::schema::Attribute {
            name: self.name.clone(),
            r#type: self.ty.to_json_bytes(),
            nested_type: None,
            description: self.full_description(),
            required: self.required,
            optional: self.optional,
            computed: self.computed,
            sensitive: self.sensitive,
            description_kind: proto::StringKind::Markdown as i32,
            deprecated: false,
            write_only: self.write_only,
            deprecation_message: String::new(),
        }
    }
}

impl Schema {
    pub(crate) fn to_proto(&self) -> proto::Schema {
        proto::Schema {
            version: self.version,
            block: Some(self.block.to_proto()),
        }
    }
}
