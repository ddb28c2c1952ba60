//! Properties of the value codec (`msgpack.rs`, `json.rs`) over arbitrary
//! cty types and conforming values, plus the exact byte forms cty uses for
//! unknowns.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use terraform_provider_vm::resources::vm_access_reset;
use terraform_provider_vm::tfprotocol::{Number, Object, Type, Value, json, msgpack};
use vm_test_support::state_json::to_state_json;

const CASES: u32 = 256;

/// 256 cases from a fixed seed, so every run checks the same values;
/// `PROPTEST_RNG_SEED` picks another seed. Failures are reported with
/// their minimal input, not persisted to files.
fn config() -> ProptestConfig {
    let base = ProptestConfig::default();
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
        base.rng_seed
    } else {
        RngSeed::Fixed(0x7f2a_2026)
    };
    ProptestConfig {
        cases: CASES,
        rng_seed,
        failure_persistence: None,
        ..base
    }
}

// ------------------------------------------------------------ strategies

fn leaf_type() -> impl Strategy<Value = Type> {
    prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool)]
}

fn attr_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,7}"
}

/// Collections and structures of `leaves`, nested up to three deep.
fn nested_types(leaves: impl Strategy<Value = Type> + 'static) -> impl Strategy<Value = Type> {
    leaves.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map(attr_name(), inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

/// Types without `dynamic`: what the concrete type of a dynamic value is.
fn concrete_type() -> impl Strategy<Value = Type> {
    nested_types(leaf_type())
}

/// Any type, `dynamic` anywhere.
fn any_type() -> impl Strategy<Value = Type> {
    nested_types(prop_oneof![
        4 => leaf_type(),
        1 => Just(Type::Dynamic),
    ])
}

/// Numbers in their canonical form (the form the decoder produces):
/// 64-bit integers, floats that are not integers (or are beyond i64), ±Inf,
/// and decimal strings too long for either.
fn number(finite_only: bool) -> BoxedStrategy<Number> {
    use prop::num::f64 as f;
    let floats =
        (f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO).prop_map(Number::from_f64);
    let decimals = "-?[1-9][0-9]{19,40}(\\.[0-9]{1,12})?".prop_map(Number::Decimal);
    let small = (-1000i64..1000, 1u32..1000)
        .prop_map(|(i, d)| Number::from_f64(i as f64 + 1.0 / f64::from(d + 1)));
    if finite_only {
        prop_oneof![any::<i64>().prop_map(Number::Int), floats, small, decimals].boxed()
    } else {
        prop_oneof![
            any::<i64>().prop_map(Number::Int),
            floats,
            small,
            decimals,
            Just(Number::Float(f64::INFINITY)),
            Just(Number::Float(f64::NEG_INFINITY)),
        ]
        .boxed()
    }
}

/// What may appear where a value of some type is expected.
#[derive(Clone, Copy)]
struct Gen {
    unknowns: bool,
    infinities: bool,
}

fn value(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    let known = known_value(ty, g);
    if g.unknowns {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn known_value(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    match ty {
        Type::String => prop_oneof![any::<String>(), "\\PC{0,12}", Just(String::new())]
            .prop_map(Value::String)
            .boxed(),
        Type::Number => number(!g.infinities).prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(e) => prop::collection::vec(value(e, g), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) => prop::collection::vec(value(e, g), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(e) => prop::collection::btree_map(any::<String>(), value(e, g), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => {
            let parts: Vec<BoxedStrategy<(String, Value)>> = attrs
                .iter()
                .map(|(k, t)| {
                    let k = k.clone();
                    value(t, g).prop_map(move |v| (k.clone(), v)).boxed()
                })
                .collect();
            parts
                .prop_map(|kv| {
                    Value::Object(Object {
                        attrs: kv.into_iter().collect(),
                    })
                })
                .boxed()
        }
        Type::Tuple(types) => {
            let parts: Vec<BoxedStrategy<Value>> = types.iter().map(|t| value(t, g)).collect();
            parts.prop_map(Value::Tuple).boxed()
        }
        // A known dynamic value carries its concrete type; a null or unknown
        // one is written bare and decodes as plain Null/Unknown.
        Type::Dynamic => concrete_type()
            .prop_flat_map(move |t| {
                known_value(&t, g).prop_map(move |v| Value::Dynamic(t.clone(), Box::new(v)))
            })
            .boxed(),
    }
}

fn typed_value(g: Gen) -> impl Strategy<Value = (Type, Value)> {
    any_type().prop_flat_map(move |t| value(&t, g).prop_map(move |v| (t.clone(), v)))
}

fn fixed_types() -> Vec<Type> {
    vec![
        Type::String,
        Type::Number,
        Type::Dynamic,
        Type::list(Type::map(Type::String)),
        Type::Tuple(vec![Type::Bool, Type::Dynamic, Type::set(Type::Number)]),
        vm_access_reset::schema().block.implied_type(),
        terraform_provider_vm::provider::schema()
            .block
            .implied_type(),
    ]
}

// ------------------------------------------------------------ properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn msgpack_round_trips((ty, v) in typed_value(Gen { unknowns: true, infinities: true })) {
        let bytes = msgpack::encode(&v, &ty).expect("a conforming value encodes");
        let back = msgpack::decode(&bytes, &ty).expect("its encoding decodes");
        prop_assert_eq!(back, v);
    }

    #[test]
    fn json_state_decodes_like_msgpack((ty, v) in typed_value(Gen { unknowns: false, infinities: false })) {
        let text = to_state_json(&v).to_string();
        let from_json = json::decode(text.as_bytes(), &ty).expect("the JSON form decodes");
        let from_msgpack = msgpack::decode(&msgpack::encode(&v, &ty).unwrap(), &ty).unwrap();
        prop_assert_eq!(&from_json, &from_msgpack);
        prop_assert_eq!(from_json, v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for ty in fixed_types() {
            let _ = msgpack::decode(&bytes, &ty);
            let _ = json::decode(&bytes, &ty);
        }
    }

    #[test]
    fn arbitrary_bytes_for_arbitrary_types_never_panic(
        ty in any_type(),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = msgpack::decode(&bytes, &ty);
    }

    /// Corrupting one byte of a valid encoding, or cutting it short, gives
    /// Ok or Err, never a panic; a cut never decodes to the full value.
    #[test]
    fn corrupted_encodings_never_panic(
        (ty, v) in typed_value(Gen { unknowns: true, infinities: true }),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let bytes = msgpack::encode(&v, &ty).unwrap();
        let i = at.index(bytes.len());
        let mut flipped = bytes.clone();
        flipped[i] = byte;
        let _ = msgpack::decode(&flipped, &ty);
        prop_assert!(msgpack::decode(&bytes[..i], &ty).is_err(), "a prefix decoded");
    }
}

// ------------------------------------------------------- exact byte forms

#[test]
fn null_and_unknown_have_ctys_bytes() {
    for ty in fixed_types() {
        assert_eq!(msgpack::encode(&Value::Null, &ty).unwrap(), [0xc0]);
        assert_eq!(
            msgpack::encode(&Value::Unknown, &ty).unwrap(),
            [0xd4, 0x00, 0x00]
        );
        assert_eq!(msgpack::decode(&[0xc0], &ty).unwrap(), Value::Null);
        assert_eq!(
            msgpack::decode(&[0xd4, 0x00, 0x00], &ty).unwrap(),
            Value::Unknown
        );
    }
}

#[test]
fn refined_unknowns_decode_as_unknown() {
    let refined: Vec<Vec<u8>> = vec![
        // ext8, 3 bytes, type 12: {1: false} (definitely not null)
        vec![0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2],
        // {1: false, 2: "ab"} (string prefix)
        vec![0xc7, 0x07, 0x0c, 0x82, 0x01, 0xc2, 0x02, 0xa2, b'a', b'b'],
        // {3: [0, true], 4: [10, false]} (number bounds)
        vec![
            0xc7, 0x09, 0x0c, 0x82, 0x03, 0x92, 0x00, 0xc3, 0x04, 0x92, 0x0a, 0xc2,
        ],
        // fixext4 type 12 {5: 1} (collection length lower bound)
        vec![0xd6, 0x0c, 0x81, 0x05, 0x01, 0xc0],
    ];
    for ty in fixed_types() {
        for bytes in &refined {
            assert_eq!(
                msgpack::decode(bytes, &ty),
                Ok(Value::Unknown),
                "{bytes:02x?} as {}",
                ty.to_json()
            );
        }
    }
    // Inside an object, next to known attributes.
    let ty = Type::Object(BTreeMap::from([
        ("a".to_string(), Type::String),
        ("b".to_string(), Type::Number),
    ]));
    let bytes = [
        0x82, 0xa1, b'a', 0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2, 0xa1, b'b', 0x07,
    ];
    assert_eq!(
        msgpack::decode(&bytes, &ty).unwrap(),
        Value::Object(
            Object::new()
                .with("a", Value::Unknown)
                .with("b", Value::int(7))
        )
    );
    // A truncated refinement is an error, not an unknown.
    assert!(msgpack::decode(&[0xc7, 0x03, 0x0c, 0x81, 0x01], &Type::String).is_err());
}

#[test]
fn dynamic_values_carry_their_type_as_json() {
    let ty_json = br#""string""#;
    let mut bin = vec![0x92, 0xc4, ty_json.len() as u8];
    bin.extend_from_slice(ty_json);
    bin.extend_from_slice(&[0xa2, b'h', b'i']);
    let expected = Value::Dynamic(Type::String, Box::new(Value::string("hi")));
    assert_eq!(msgpack::decode(&bin, &Type::Dynamic).unwrap(), expected);
    // cty writes bin; a str type is accepted too.
    let mut str_form = vec![0x92, 0xa0 | ty_json.len() as u8];
    str_form.extend_from_slice(ty_json);
    str_form.extend_from_slice(&[0xa2, b'h', b'i']);
    assert_eq!(
        msgpack::decode(&str_form, &Type::Dynamic).unwrap(),
        expected
    );
    assert_eq!(msgpack::encode(&expected, &Type::Dynamic).unwrap(), bin);
    // JSON state form.
    assert_eq!(
        json::decode(br#"{"type":"string","value":"hi"}"#, &Type::Dynamic).unwrap(),
        expected
    );
}

#[test]
fn numbers_take_ctys_forms() {
    let enc = |n: Number| msgpack::encode(&Value::Number(n), &Type::Number).unwrap();
    assert_eq!(enc(Number::Int(7)), [0x07]);
    assert_eq!(enc(Number::Int(-1)), [0xff]);
    assert_eq!(enc(Number::Float(1.5))[0], 0xcb);
    let big = "123456789012345678901234567890";
    assert_eq!(enc(Number::Decimal(big.into()))[0], 0xbe);
    // u64 beyond i64 stays exact as a decimal.
    let mut u = vec![0xcf];
    u.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(
        msgpack::decode(&u, &Type::Number).unwrap(),
        Value::Number(Number::Decimal(u64::MAX.to_string()))
    );
    // A float holding an integer is that integer.
    let mut f = vec![0xcb];
    f.extend_from_slice(&3.0f64.to_be_bytes());
    assert_eq!(msgpack::decode(&f, &Type::Number).unwrap(), Value::int(3));
    // A string that is not a number is refused.
    assert!(msgpack::decode(&[0xa3, b'a', b'b', b'c'], &Type::Number).is_err());
}

#[test]
fn objects_need_every_attribute_and_no_others() {
    let ty = Type::Object(BTreeMap::from([
        ("a".to_string(), Type::String),
        ("b".to_string(), Type::Bool),
    ]));
    // {a: "x"}: b missing
    let missing = [0x81, 0xa1, b'a', 0xa1, b'x'];
    let e = msgpack::decode(&missing, &ty).unwrap_err();
    assert!(e.to_string().contains("2 attributes"), "{e}");
    // {a: "x", b: true, c: nil}
    let extra = [
        0x83, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc3, 0xa1, b'c', 0xc0,
    ];
    let e = msgpack::decode(&extra, &ty).unwrap_err();
    assert!(e.to_string().contains("unsupported attribute"), "{e}");
    // Encoding writes every attribute, sorted, nulls included.
    let v = Value::Object(Object::new().with("b", Value::Bool(true)));
    assert_eq!(
        msgpack::encode(&v, &ty).unwrap(),
        [0x82, 0xa1, b'a', 0xc0, 0xa1, b'b', 0xc3]
    );
    // An attribute the type does not have cannot be encoded.
    let v = Value::Object(Object::new().with("zz", Value::Null));
    assert!(msgpack::encode(&v, &ty).is_err());
}

#[test]
fn hostile_lengths_and_depth_are_errors() {
    let ty = Type::list(Type::String);
    // array32 claiming u32::MAX elements, with nothing after it.
    assert!(msgpack::decode(&[0xdd, 0xff, 0xff, 0xff, 0xff], &ty).is_err());
    // str32 claiming 4 GiB.
    assert!(msgpack::decode(&[0xdb, 0xff, 0xff, 0xff, 0xff], &Type::String).is_err());
    // 10 000 nested arrays against a deeply nested list type.
    let mut deep = Type::String;
    for _ in 0..10_000 {
        deep = Type::list(deep);
    }
    let mut bytes = vec![0x91; 10_000];
    bytes.push(0xa0);
    assert!(msgpack::decode(&bytes, &deep).is_err());
    // Deeply nested dynamic types are refused, not a stack overflow.
    let mut ty_json = String::from("\"string\"");
    for _ in 0..10_000 {
        ty_json = format!("[\"list\",{ty_json}]");
    }
    let mut dyn_bytes = vec![0x92, 0xc6];
    dyn_bytes.extend_from_slice(&(ty_json.len() as u32).to_be_bytes());
    dyn_bytes.extend_from_slice(ty_json.as_bytes());
    dyn_bytes.push(0xc0);
    assert!(msgpack::decode(&dyn_bytes, &Type::Dynamic).is_err());
    // Trailing bytes after a complete value.
    assert!(msgpack::decode(&[0xc0, 0xc0], &Type::String).is_err());
    assert!(msgpack::decode(&[], &Type::String).is_err());
}
