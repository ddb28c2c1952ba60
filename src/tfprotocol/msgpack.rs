//! The msgpack encoding of `DynamicValue` (cty's wire format): values are
//! encoded against the schema's type, unknowns are msgpack extensions, and
//! dynamic values carry their type as JSON.
//!
//! The decoder is written against a byte cursor with explicit bounds and
//! depth checks, so arbitrary bytes from the wire produce an error, never a
//! panic or a huge allocation.

use std::collections::BTreeMap;

use rmp::Marker;

use super::CodecError;
use super::types::Type;
use super::value::{Number, Object, Value, is_decimal_literal};

/// cty writes a plain unknown as fixext1 type 0 with a zero byte.
const UNKNOWN_EXT: i8 = 0;
/// Deeper nesting than this is certainly not a Terraform value of ours.
const MAX_DEPTH: usize = 64;

/// Encodes `value` as Terraform's msgpack for type `ty` (unknowns as the extension Terraform reads).
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(128);
    encode_into(&mut out, value, ty)?;
    Ok(out)
}

/// Decodes Terraform's msgpack of type `ty`; refuses input that does not fit the type.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut reader = Reader {
        buf: bytes,
        pos: 0,
        reserved: 0,
    };
    let value = reader.value(ty, 0)?;
    if reader.pos != bytes.len() {
        return Err(CodecError::new(format!(
            "{} unexpected bytes after the value",
            bytes.len() - reader.pos
        )));
    }
    Ok(value)
}

fn write_err(e: impl std::fmt::Display) -> CodecError {
    CodecError::new(format!("msgpack encoding failed: {e}"))
}

/// Names the kind of value only: the value itself may be a secret.
fn mismatch(value: &Value, ty: &Type) -> CodecError {
    CodecError::new(format!(
        "a {} value does not conform to type {}",
        value.kind(),
        ty.to_json()
    ))
}

fn encode_into(out: &mut Vec<u8>, value: &Value, ty: &Type) -> Result<(), CodecError> {
    match (value, ty) {
        (Value::Null, _) => {
            rmp::encode::write_nil(out).map_err(write_err)?;
        }
        (Value::Unknown, _) => {
            rmp::encode::write_ext_meta(out, 1, UNKNOWN_EXT).map_err(write_err)?;
            out.push(0);
        }
        (Value::Dynamic(inner_ty, inner), Type::Dynamic) => {
            if inner.is_null() || matches!(**inner, Value::Unknown) {
                return encode_into(out, inner, inner_ty);
            }
            rmp::encode::write_array_len(out, 2).map_err(write_err)?;
            rmp::encode::write_bin(out, &inner_ty.to_json_bytes()).map_err(write_err)?;
            encode_into(out, inner, inner_ty)?;
        }
        (Value::Dynamic(inner_ty, inner), _) if inner_ty == ty => encode_into(out, inner, ty)?,
        (Value::Bool(b), Type::Bool) => rmp::encode::write_bool(out, *b).map_err(write_err)?,
        (Value::String(s), Type::String) => rmp::encode::write_str(out, s).map_err(write_err)?,
        (Value::Number(n), Type::Number) => match n {
            Number::Int(i) => {
                rmp::encode::write_sint(out, *i).map_err(write_err)?;
            }
            Number::Float(f) => rmp::encode::write_f64(out, *f).map_err(write_err)?,
            Number::Decimal(s) => rmp::encode::write_str(out, s).map_err(write_err)?,
        },
        (Value::List(items), Type::List(elem)) | (Value::Set(items), Type::Set(elem)) => {
            rmp::encode::write_array_len(out, len32(items.len())?).map_err(write_err)?;
            for item in items {
                encode_into(out, item, elem)?;
            }
        }
        (Value::Tuple(items), Type::Tuple(types)) if items.len() == types.len() => {
            rmp::encode::write_array_len(out, len32(items.len())?).map_err(write_err)?;
            for (item, t) in items.iter().zip(types) {
                encode_into(out, item, t)?;
            }
        }
        (Value::Map(entries), Type::Map(elem)) => {
            rmp::encode::write_map_len(out, len32(entries.len())?).map_err(write_err)?;
            for (k, v) in entries {
                rmp::encode::write_str(out, k).map_err(write_err)?;
                encode_into(out, v, elem)?;
            }
        }
        (Value::Object(obj), Type::Object(attr_types)) => {
            if let Some(extra) = obj.attrs.keys().find(|k| !attr_types.contains_key(*k)) {
                return Err(CodecError::new(format!("unsupported attribute {extra:?}")));
            }
            // Every attribute is written, in sorted order, as cty does.
            rmp::encode::write_map_len(out, len32(attr_types.len())?).map_err(write_err)?;
            for (name, t) in attr_types {
                rmp::encode::write_str(out, name).map_err(write_err)?;
                encode_into(out, obj.get(name), t)?;
            }
        }
        _ => return Err(mismatch(value, ty)),
    }
    Ok(())
}

fn len32(n: usize) -> Result<u32, CodecError> {
    u32::try_from(n).map_err(|_| CodecError::new("collection too large".to_string()))
}

/// A msgpack item header, before its contents are interpreted.
enum Item<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(usize),
    Map(usize),
    Ext,
}

impl Item<'_> {
    fn describe(&self) -> &'static str {
        match self {
            Item::Nil => "nil",
            Item::Bool(_) => "a bool",
            Item::Int(_) | Item::UInt(_) => "an integer",
            Item::Float(_) => "a float",
            Item::Str(_) => "a string",
            Item::Bin(_) => "binary data",
            Item::Array(_) => "an array",
            Item::Map(_) => "a map",
            Item::Ext => "an extension",
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Bytes promised to announced elements not decoded yet, at every level
    /// of nesting. A collection may only announce as many elements as the
    /// unpromised rest of the input can hold, so all announced lengths
    /// together never exceed the input's size (issue 14: nested forged
    /// lengths each passed a per-level check and multiplied the work).
    reserved: usize,
}

/// The fewest bytes one array element (any msgpack item) can take.
const MIN_ELEMENT: usize = 1;
/// The fewest bytes one map entry (a key and a value) can take.
const MIN_ENTRY: usize = 2;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                CodecError::new(format!(
                    "truncated msgpack: wanted {n} bytes at offset {}",
                    self.pos
                ))
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// A string or binary whose length is in the next `width` bytes.
    fn take_sized(&mut self, width: usize) -> Result<&'a [u8], CodecError> {
        let n = self.len_of(width)?;
        self.take(n)
    }

    /// A collection whose length is in the next `width` bytes (see [`Reader::count`]).
    fn count_sized(&mut self, width: usize, min_bytes: usize) -> Result<usize, CodecError> {
        let n = self.len_of(width)?;
        self.count(n, min_bytes)
    }

    /// An extension whose payload length is in the next `width` bytes.
    fn ext_sized(&mut self, width: usize) -> Result<Item<'a>, CodecError> {
        let n = self.len_of(width)?;
        self.ext(n)
    }

    fn len_of(&mut self, bytes: usize) -> Result<usize, CodecError> {
        Ok(match bytes {
            1 => usize::from(u8::from_be_bytes(self.be()?)),
            2 => usize::from(u16::from_be_bytes(self.be()?)),
            // A length beyond usize (16-bit targets) is refused by `take`/`count` anyway.
            _ => usize::try_from(u32::from_be_bytes(self.be()?)).unwrap_or(usize::MAX),
        })
    }

    /// Refuses a collection of `n` elements of at least `min_bytes` each
    /// that the input cannot hold, before anything is allocated for it.
    fn count(&self, n: usize, min_bytes: usize) -> Result<usize, CodecError> {
        let available = (self.buf.len() - self.pos).saturating_sub(self.reserved);
        if n.checked_mul(min_bytes).is_none_or(|need| need > available) {
            return Err(CodecError::new(format!(
                "collection length {n} exceeds the input"
            )));
        }
        Ok(n)
    }

    /// Decodes `n` elements (already checked by `count`) with `each`, keeping
    /// the bytes of the elements still to come reserved.
    fn collection<T>(
        &mut self,
        n: usize,
        min_bytes: usize,
        mut each: impl FnMut(&mut Self, usize) -> Result<T, CodecError>,
    ) -> Result<Vec<T>, CodecError> {
        self.reserved += n * min_bytes;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            // This element's share is released just before it is read; it
            // takes at least that many bytes, so `reserved` never exceeds
            // what is left.
            self.reserved -= min_bytes;
            out.push(each(self, i)?);
        }
        Ok(out)
    }

    fn item(&mut self) -> Result<Item<'a>, CodecError> {
        let byte = self.take(1)?[0];
        Ok(match Marker::from_u8(byte) {
            Marker::Null => Item::Nil,
            Marker::True => Item::Bool(true),
            Marker::False => Item::Bool(false),
            Marker::FixPos(n) => Item::Int(i64::from(n)),
            Marker::FixNeg(n) => Item::Int(i64::from(n)),
            Marker::U8 => Item::Int(i64::from(u8::from_be_bytes(self.be()?))),
            Marker::U16 => Item::Int(i64::from(u16::from_be_bytes(self.be()?))),
            Marker::U32 => Item::Int(i64::from(u32::from_be_bytes(self.be()?))),
            Marker::U64 => Item::UInt(u64::from_be_bytes(self.be()?)),
            Marker::I8 => Item::Int(i64::from(i8::from_be_bytes(self.be()?))),
            Marker::I16 => Item::Int(i64::from(i16::from_be_bytes(self.be()?))),
            Marker::I32 => Item::Int(i64::from(i32::from_be_bytes(self.be()?))),
            Marker::I64 => Item::Int(i64::from_be_bytes(self.be()?)),
            Marker::F32 => Item::Float(f64::from(f32::from_be_bytes(self.be()?))),
            Marker::F64 => Item::Float(f64::from_be_bytes(self.be()?)),
            Marker::FixStr(n) => Item::Str(self.take(usize::from(n))?),
            Marker::Str8 => Item::Str(self.take_sized(1)?),
            Marker::Str16 => Item::Str(self.take_sized(2)?),
            Marker::Str32 => Item::Str(self.take_sized(4)?),
            Marker::Bin8 => Item::Bin(self.take_sized(1)?),
            Marker::Bin16 => Item::Bin(self.take_sized(2)?),
            Marker::Bin32 => Item::Bin(self.take_sized(4)?),
            Marker::FixArray(n) => Item::Array(self.count(usize::from(n), MIN_ELEMENT)?),
            Marker::Array16 => Item::Array(self.count_sized(2, MIN_ELEMENT)?),
            Marker::Array32 => Item::Array(self.count_sized(4, MIN_ELEMENT)?),
            Marker::FixMap(n) => Item::Map(self.count(usize::from(n), MIN_ENTRY)?),
            Marker::Map16 => Item::Map(self.count_sized(2, MIN_ENTRY)?),
            Marker::Map32 => Item::Map(self.count_sized(4, MIN_ENTRY)?),
            // Any extension is an unknown value. Type 12 carries refinements
            // (not-null, prefixes, bounds) that this provider does not need,
            // so the payload is skipped whatever its type.
            Marker::FixExt1 => self.ext(1)?,
            Marker::FixExt2 => self.ext(2)?,
            Marker::FixExt4 => self.ext(4)?,
            Marker::FixExt8 => self.ext(8)?,
            Marker::FixExt16 => self.ext(16)?,
            Marker::Ext8 => self.ext_sized(1)?,
            Marker::Ext16 => self.ext_sized(2)?,
            Marker::Ext32 => self.ext_sized(4)?,
            Marker::Reserved => {
                return Err(CodecError::new(format!(
                    "reserved msgpack marker 0x{byte:02x}"
                )));
            }
        })
    }

    fn ext(&mut self, payload: usize) -> Result<Item<'a>, CodecError> {
        self.take(1)?; // extension type
        self.take(payload)?;
        Ok(Item::Ext)
    }

    fn string(bytes: &[u8]) -> Result<String, CodecError> {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| CodecError::new("string is not valid UTF-8".to_string()))
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::new("value nested too deeply".to_string()));
        }
        let item = self.item()?;
        let wrong = |item: &Item| {
            CodecError::new(format!(
                "expected a value of type {}, found {}",
                ty.to_json(),
                item.describe()
            ))
        };
        match (item, ty) {
            (Item::Nil, _) => Ok(Value::Null),
            (Item::Ext, _) => Ok(Value::Unknown),
            (Item::Bool(b), Type::Bool) => Ok(Value::Bool(b)),
            (Item::Str(s), Type::String) => Ok(Value::String(Self::string(s)?)),
            (Item::Int(i), Type::Number) => Ok(Value::Number(Number::Int(i))),
            (Item::UInt(u), Type::Number) => Ok(Value::Number(
                i64::try_from(u).map_or_else(|_| Number::Decimal(u.to_string()), Number::Int),
            )),
            // cty has infinities but no NaN.
            (Item::Float(f), Type::Number) if f.is_nan() => {
                Err(CodecError::new("NaN is not a number".to_string()))
            }
            (Item::Float(f), Type::Number) => Ok(Value::Number(Number::from_f64(f))),
            (Item::Str(s), Type::Number) => {
                let s = Self::string(s)?;
                if !is_decimal_literal(&s) {
                    // Not quoted: a mistyped attribute may hold a secret.
                    return Err(CodecError::new(
                        "a string that is not a decimal number was given as a number".to_string(),
                    ));
                }
                Ok(Value::Number(Number::Decimal(s)))
            }
            (Item::Array(n), Type::List(elem)) => Ok(Value::List(self.elements(n, elem, depth)?)),
            (Item::Array(n), Type::Set(elem)) => Ok(Value::Set(self.elements(n, elem, depth)?)),
            (Item::Array(n), Type::Tuple(types)) => {
                if n != types.len() {
                    return Err(CodecError::new(format!(
                        "tuple needs {} elements, found {n}",
                        types.len()
                    )));
                }
                // `n == types.len()`, checked above.
                let items =
                    self.collection(n, MIN_ELEMENT, |r, i| r.value(&types[i], depth + 1))?;
                Ok(Value::Tuple(items))
            }
            (Item::Map(n), Type::Map(elem)) => {
                let entries = self.collection(n, MIN_ENTRY, |r, _| {
                    Ok((r.key()?, r.value(elem, depth + 1)?))
                })?;
                Ok(Value::Map(entries.into_iter().collect::<BTreeMap<_, _>>()))
            }
            (Item::Map(n), Type::Object(attr_types)) => {
                let entries = self.collection(n, MIN_ENTRY, |r, _| {
                    let key = r.key()?;
                    let t = attr_types
                        .get(&key)
                        .ok_or_else(|| CodecError::new(format!("unsupported attribute {key:?}")))?;
                    Ok((key, r.value(t, depth + 1)?))
                })?;
                let mut obj = Object::new();
                obj.attrs.extend(entries);
                if obj.attrs.len() != attr_types.len() {
                    return Err(CodecError::new(format!(
                        "an object with {} attributes is required ({} given)",
                        attr_types.len(),
                        obj.attrs.len()
                    )));
                }
                Ok(Value::Object(obj))
            }
            (Item::Array(2), Type::Dynamic) => {
                let type_json = match self.item()? {
                    Item::Bin(b) | Item::Str(b) => b,
                    other => return Err(wrong(&other)),
                };
                let inner_ty = Type::from_json_bytes(type_json)?;
                let inner = self.value(&inner_ty, depth + 1)?;
                Ok(Value::Dynamic(inner_ty, Box::new(inner)))
            }
            (other, _) => Err(wrong(&other)),
        }
    }

    fn elements(&mut self, n: usize, elem: &Type, depth: usize) -> Result<Vec<Value>, CodecError> {
        self.collection(n, MIN_ELEMENT, |r, _| r.value(elem, depth + 1))
    }

    fn key(&mut self) -> Result<String, CodecError> {
        match self.item()? {
            Item::Str(s) => Self::string(s),
            other => Err(CodecError::new(format!(
                "map key must be a string, found {}",
                other.describe()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `s` as a msgpack string.
    fn msgpack_str(s: &str) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmp::encode::write_str(&mut bytes, s).expect("encode");
        bytes
    }

    fn list_of(depth: usize) -> Type {
        (0..depth).fold(Type::String, |t, _| Type::List(Box::new(t)))
    }

    #[test]
    fn nested_forged_lengths_are_refused_at_the_second_level() {
        // Issue 14: array32 headers each announcing as many elements as
        // bytes remain, nested to the depth limit, padded to 4 MiB.
        let size = 4 << 20;
        let mut input = Vec::with_capacity(size);
        for _ in 0..=MAX_DEPTH {
            let left = u32::try_from(size - input.len() - 5).unwrap_or(u32::MAX);
            input.push(0xdd);
            input.extend_from_slice(&left.to_be_bytes());
        }
        input.resize(size, 0xc0);
        let err = decode(&input, &list_of(MAX_DEPTH + 2)).expect_err("forged lengths");
        assert!(err.to_string().contains("exceeds the input"), "{err}");
    }

    #[test]
    fn map_entries_need_two_bytes_each() {
        // fixmap announcing 3 entries with 5 bytes left: a key and a value each.
        let ty = Type::Map(Box::new(Type::Bool));
        let err = decode(&[0x83, 0xa1, b'a', 0xc3, 0xa1, b'b'], &ty).expect_err("short map");
        assert!(err.to_string().contains("exceeds the input"), "{err}");
        assert!(decode(&[0x81, 0xa1, b'a', 0xc3], &ty).is_ok());
    }

    #[test]
    fn numbers_are_numbers() {
        // Issue 14: f64 parsing accepts these; cty does not.
        for s in [
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "+Infinity",
            "",
            "-",
            "1e",
            ".",
            "1 ",
        ] {
            let bytes = msgpack_str(s);
            assert!(decode(&bytes, &Type::Number).is_err(), "{s:?}");
        }
        let nan = [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0];
        assert!(decode(&nan, &Type::Number).is_err());
        for s in [
            "-12",
            "0.5",
            "1e-3",
            "123456789012345678901234567890",
            "+4.",
            ".5E+2",
        ] {
            let bytes = msgpack_str(s);
            assert_eq!(
                decode(&bytes, &Type::Number),
                Ok(Value::Number(Number::Decimal(s.to_string()))),
                "{s:?}"
            );
        }
    }
}
