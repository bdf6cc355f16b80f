//! Fast whole-document reads.
//!
//! autosurgeon hydrates a struct one key lookup at a time, and each lookup in automerge 0.12
//! seeks through the document's op columns: a case with a dozen timeline entries took ~0.85 ms
//! to read that way, more than loading, checking and saving it together. automerge's own
//! `hydrate` materialises a whole object in one pass; this module turns that tree into JSON and
//! deserialises the model types from it with serde.
//!
//! That works because the model's serde representation is the one autosurgeon writes: structs
//! are maps keyed by field name, enums are externally tagged (a unit variant is its name as a
//! string, a struct variant a one-key map), `None` is null, ids are plain strings, and
//! collaborative text ([`autosurgeon::Text`]) reads as a string. `read_matches_autosurgeon` in
//! the tests holds the two readers to the same answer on every demo case.
//!
//! `heads` reads the document as it was at those heads, which is how a server reconstructs the
//! view an author had when they made a change.

use automerge::hydrate::Value as Hydrated;
use automerge::{ChangeHash, ReadDoc, ScalarValue, ROOT};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

/// Reads the whole document (at `heads`, or now) as `T`.
pub fn read<T: DeserializeOwned>(
    doc: &impl ReadDoc,
    heads: Option<&[ChangeHash]>,
) -> Result<T, String> {
    let tree = doc.hydrate(ROOT, heads).map_err(|e| e.to_string())?;
    serde_json::from_value(to_json(&tree)).map_err(|e| e.to_string())
}

/// Reads one property of the root map (at `heads`, or now) as `T`; a missing property reads
/// as null.
pub fn read_prop<T: DeserializeOwned>(
    doc: &impl ReadDoc,
    prop: &str,
    heads: Option<&[ChangeHash]>,
) -> Result<T, String> {
    let obj = match heads {
        Some(h) => doc.get_at(ROOT, prop, h),
        None => doc.get(ROOT, prop),
    }
    .map_err(|e| e.to_string())?;
    let json = match obj {
        Some((automerge::Value::Object(_), id)) => {
            to_json(&doc.hydrate(id, heads).map_err(|e| e.to_string())?)
        }
        Some((automerge::Value::Scalar(s), _)) => scalar(&s),
        None => Json::Null,
    };
    serde_json::from_value(json).map_err(|e| format!("{prop}: {e}"))
}

/// The JSON form of a materialised automerge value.
pub fn to_json(v: &Hydrated) -> Json {
    match v {
        Hydrated::Scalar(s) => scalar(s),
        Hydrated::Map(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), to_json(&v.value)))
                .collect(),
        ),
        Hydrated::List(l) => Json::Array(l.iter().map(|v| to_json(&v.value)).collect()),
        Hydrated::Text(t) => Json::String(String::from(t)),
    }
}

fn scalar(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(n) | ScalarValue::Timestamp(n) => Json::from(*n),
        ScalarValue::Uint(n) => Json::from(*n),
        ScalarValue::F64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        ScalarValue::Counter(c) => Json::from(i64::from(c)),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Bytes(b) => Json::Array(b.iter().map(|x| Json::from(*x)).collect()),
        ScalarValue::Null | ScalarValue::Unknown { .. } => Json::Null,
    }
}

/// serde for [`autosurgeon::Text`]: a plain string.
pub mod text {
    use autosurgeon::Text;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Text, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        Ok(Text::with_value(String::deserialize(d)?))
    }
}
