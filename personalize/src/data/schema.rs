//! Schemas: CreateSchema (Avro validated as Personalize does), DescribeSchema, ListSchemas, DeleteSchema.
//!
//! CreateSchema checks what holds for every dataset type: the string is Avro JSON for a flat
//! `record`, fields use only the primitive types Personalize accepts (optionally in a union with
//! `null`), names are valid and unique (names that differ only by `_` or case collide),
//! `categorical`/`textual` only on string fields, and reserved keywords are not categorical.
//! The requirements that depend on the dataset type (USER_ID, ITEM_ID, TIMESTAMP, ...) are
//! checked when CreateDataset pairs the schema with a type, because only then is the type known.

use serde_json::{Map, Value, json};

use super::dataset_group::DOMAINS;
use super::{Meta, already_exists, not_found, ts};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_enum, check_len, check_name};
use crate::error::{Error, Result};

/// Schemas per account and region (the service quota).
pub(crate) const MAX_SCHEMAS: usize = 500;

/// The primitive Avro types Personalize accepts in a field.
const PRIMITIVES: &[&str] = &["string", "int", "long", "float", "double", "boolean", "null"];

/// Reserved string fields that must not be categorical.
const RESERVED: &[&str] = &[
    "USER_ID",
    "ITEM_ID",
    "ACTION_ID",
    "EVENT_TYPE",
    "EVENT_VALUE",
    "TIMESTAMP",
    "IMPRESSION",
    "RECOMMENDATION_ID",
    "EVENT_ATTRIBUTION_SOURCE",
    "CREATION_TIMESTAMP",
];

/// The columns of an Interactions schema that Personalize reads itself; the others are metadata.
pub(crate) const INTERACTION_COLUMNS: &[&str] = &[
    "USER_ID",
    "ITEM_ID",
    "TIMESTAMP",
    "EVENT_TYPE",
    "EVENT_VALUE",
    "IMPRESSION",
    "RECOMMENDATION_ID",
    "EVENT_ATTRIBUTION_SOURCE",
];

/// One column of a schema.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Field {
    /// The column name as written.
    pub(crate) name: String,
    /// The Avro types (more than one for a union).
    pub(crate) types: Vec<String>,
    /// `categorical: true`.
    pub(crate) categorical: bool,
    /// `textual: true`.
    pub(crate) textual: bool,
}

impl Field {
    /// Whether the field accepts `ty` (e.g. `"string"`).
    pub(crate) fn has_type(&self, ty: &str) -> bool {
        self.types.iter().any(|t| t == ty)
    }

    /// Whether the field holds numbers.
    pub(crate) fn is_numeric(&self) -> bool {
        self.types
            .iter()
            .any(|t| matches!(t.as_str(), "int" | "long" | "float" | "double"))
    }

    /// Whether the field may be null.
    pub(crate) fn nullable(&self) -> bool {
        self.has_type("null")
    }
}

/// A schema.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Schema {
    /// ARN, name, creation time.
    pub(crate) meta: Meta,
    /// The Avro JSON as given.
    pub(crate) schema: String,
    /// The domain, for a Domain dataset group's datasets.
    pub(crate) domain: Option<String>,
    /// The parsed fields.
    pub(crate) fields: Vec<Field>,
}

impl Schema {
    /// The field named `name` (compared case-insensitively).
    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// Normalises a column name for duplicate detection and property matching:
/// upper case without underscores (`numberOfRatings` and `NUMBER_OF_RATINGS` agree).
pub(crate) fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_uppercase)
        .collect()
}

/// `normalise(a) == normalise(b)` without building either string: every field is compared with
/// every earlier one, so this runs n²/2 times per schema.
fn same_normalised(a: &str, b: &str) -> bool {
    fn fold(s: &str) -> impl Iterator<Item = char> + '_ {
        s.chars().filter(|c| *c != '_').flat_map(char::to_uppercase)
    }
    fold(a).eq(fold(b))
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::invalid(format!("Invalid schema. {detail}"))
}

fn is_avro_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The shape almost every schema has, read without building a `Value` tree: field types as
/// names or unions of names, flags as booleans, no repeated keys. Anything else fails to parse
/// and goes through [`parse_avro_value`], which gives the same answer for these and the
/// precise error for the rest.
#[derive(serde::Deserialize)]
struct PlainRecord<'a> {
    #[serde(rename = "type", borrow)]
    ty: &'a str,
    #[serde(borrow)]
    name: &'a str,
    #[serde(borrow)]
    fields: Vec<PlainField<'a>>,
}

#[derive(serde::Deserialize)]
struct PlainField<'a> {
    #[serde(borrow)]
    name: &'a str,
    #[serde(rename = "type", borrow)]
    ty: PlainType<'a>,
    #[serde(default)]
    categorical: Option<bool>,
    #[serde(default)]
    textual: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum PlainType<'a> {
    One(&'a str),
    Union(#[serde(borrow)] Vec<&'a str>),
}

/// Parses and validates an Avro schema string as Personalize does.
pub(crate) fn parse_avro(text: &str) -> Result<Vec<Field>> {
    let Ok(rec) = serde_json::from_str::<PlainRecord<'_>>(text) else {
        return parse_avro_value(text);
    };
    check_record(Some(rec.ty), Some(rec.name))?;
    check_field_count(rec.fields.len())?;
    let mut out: Vec<Field> = Vec::with_capacity(rec.fields.len());
    for f in &rec.fields {
        check_field_name(f.name)?;
        let types = match &f.ty {
            PlainType::One(t) => check_types(f.name, &[t], false)?,
            PlainType::Union(u) => check_types(f.name, u, true)?,
        };
        let field = check_field(
            f.name,
            types,
            f.categorical.unwrap_or(false),
            f.textual.unwrap_or(false),
            &out,
        )?;
        out.push(field);
    }
    Ok(out)
}

/// The general path: any JSON, every error message.
fn parse_avro_value(text: &str) -> Result<Vec<Field>> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("The schema is not valid JSON: {e}.")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("The schema must be an Avro record (a JSON object)."))?;
    check_record(
        obj.get("type").and_then(Value::as_str),
        obj.get("name").and_then(Value::as_str),
    )?;
    let fields = obj
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("The record must have a \"fields\" array."))?;
    check_field_count(fields.len())?;
    let mut out: Vec<Field> = Vec::with_capacity(fields.len());
    for f in fields {
        let fo = f
            .as_object()
            .ok_or_else(|| invalid("Each field must be a JSON object."))?;
        let name = fo
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("Each field must have a \"name\"."))?;
        check_field_name(name)?;
        let types = field_types(name, fo.get("type"))?;
        let flag = |key: &str| -> Result<bool> {
            match fo.get(key) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(invalid(format!("'{key}' of field '{name}' must be a boolean."))),
            }
        };
        let categorical = flag("categorical")?;
        let textual = flag("textual")?;
        let field = check_field(name, types, categorical, textual, &out)?;
        out.push(field);
    }
    Ok(out)
}

/// The record-level rules, in the order Personalize reports them.
fn check_record(ty: Option<&str>, name: Option<&str>) -> Result<()> {
    if ty != Some("record") {
        return Err(invalid("The top-level type must be \"record\"."));
    }
    match name {
        Some(n) if is_avro_name(n) => {}
        _ => return Err(invalid("The record must have a valid \"name\".")),
    }
    Ok(())
}

fn check_field_count(fields: usize) -> Result<()> {
    if fields == 0 {
        return Err(invalid("The record must have at least one field."));
    }
    Ok(())
}

fn check_field_name(name: &str) -> Result<()> {
    if !is_avro_name(name) || name.len() > 150 {
        return Err(invalid(format!(
            "Field name '{name}' must match [A-Za-z_][A-Za-z0-9_]* and have at most 150 characters."
        )));
    }
    Ok(())
}

/// The rules on one field once its types and flags are known; `before` holds the fields so far.
fn check_field(
    name: &str,
    types: Vec<String>,
    categorical: bool,
    textual: bool,
    before: &[Field],
) -> Result<Field> {
    let field = Field {
        name: name.to_string(),
        types,
        categorical,
        textual,
    };
    if (categorical || textual) && !field.has_type("string") {
        return Err(invalid(format!(
            "Field '{name}' can be categorical or textual only if its type is string."
        )));
    }
    if categorical && textual {
        return Err(invalid(format!(
            "Field '{name}' cannot be both categorical and textual."
        )));
    }
    if categorical && RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(invalid(format!("Reserved field '{name}' cannot be categorical.")));
    }
    if let Some(dup) = before.iter().find(|o| same_normalised(&o.name, name)) {
        return Err(invalid(format!(
            "Field names must be unique; '{name}' conflicts with '{}'.",
            dup.name
        )));
    }
    Ok(field)
}

fn field_types(name: &str, ty: Option<&Value>) -> Result<Vec<String>> {
    // `{"type": "string"}` is the long form of a primitive; anything else names no type.
    fn one(t: &Value) -> &str {
        match t {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o.get("type").and_then(Value::as_str).unwrap_or(""),
            _ => "",
        }
    }
    match ty {
        None => Err(invalid(format!("Field '{name}' must have a \"type\"."))),
        Some(Value::Array(union)) => {
            let names: Vec<&str> = union.iter().map(one).collect();
            check_types(name, &names, true)
        }
        Some(t) => check_types(name, &[one(t)], false),
    }
}

/// The type rules: a primitive, or a union of distinct primitives that is not only `null`.
fn check_types(name: &str, names: &[&str], union: bool) -> Result<Vec<String>> {
    if union && names.is_empty() {
        return Err(invalid(format!("Field '{name}' has an empty union type.")));
    }
    let mut types: Vec<String> = Vec::with_capacity(names.len());
    for &s in names {
        if !PRIMITIVES.contains(&s) {
            return Err(
                if matches!(s, "record" | "array" | "map" | "enum" | "fixed" | "bytes") {
                    invalid(format!(
                        "Field '{name}' has type '{s}'; Personalize schemas must be flat and use only the types string, int, long, float, double, boolean and null."
                    ))
                } else {
                    invalid(format!("Field '{name}' has an unsupported type."))
                },
            );
        }
        if types.iter().any(|t| t == s) {
            return Err(invalid(format!(
                "Field '{name}' repeats '{s}' in its union type."
            )));
        }
        types.push(s.to_string());
    }
    if types.iter().all(|t| t == "null") {
        return Err(invalid(format!(
            "Field '{name}' must have a type other than null."
        )));
    }
    Ok(types)
}

pub(crate) fn full(s: &Schema) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(s.meta.name));
    o.insert("schemaArn".into(), json!(s.meta.arn));
    o.insert("schema".into(), json!(s.schema));
    o.insert("creationDateTime".into(), ts(s.meta.created));
    o.insert("lastUpdatedDateTime".into(), ts(s.meta.created));
    if let Some(d) = &s.domain {
        o.insert("domain".into(), json!(d));
    }
    Value::Object(o)
}

pub(crate) fn summary(s: &Schema) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(s.meta.name));
    o.insert("schemaArn".into(), json!(s.meta.arn));
    o.insert("creationDateTime".into(), ts(s.meta.created));
    o.insert("lastUpdatedDateTime".into(), ts(s.meta.created));
    if let Some(d) = &s.domain {
        o.insert("domain".into(), json!(d));
    }
    Value::Object(o)
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let text = m.str("schema")?;
    check_len("schema", text, 0, 20000)?;
    let domain = m.opt_str("domain")?;
    if let Some(d) = domain {
        check_enum("domain", d, DOMAINS)?;
    }
    let fields = parse_avro(text)?;
    let arn = cx.arn("schema", name);
    if store.data.schemas.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    if store.data.schemas.len() >= MAX_SCHEMAS {
        return Err(Error::limit(format!(
            "You have reached the limit of {MAX_SCHEMAS} schemas in this region."
        )));
    }
    let lc = Lifecycle {
        started: cx.ctx.now,
        steps: vec![("ACTIVE", 0.0)],
    };
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, lc);
    store.data.schemas.insert(
        arn.clone(),
        Schema {
            meta,
            schema: text.to_string(),
            domain: domain.map(str::to_string),
            fields,
        },
    );
    Ok(json!({ "schemaArn": arn }))
}

pub(super) fn delete(store: &mut Store, _cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let arn = m.arn("schemaArn")?;
    if !store.data.schemas.contains_key(arn) {
        return Err(not_found(arn));
    }
    if let Some(d) = store.data.datasets.values().find(|d| d.uses_schema(arn)) {
        return Err(Error::in_use(format!(
            "Cannot delete schema {arn} because it is used by dataset {}.",
            d.meta.arn
        )));
    }
    store.data.schemas.remove(arn);
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_avro(text).unwrap_err().message
    }

    #[test]
    fn the_typed_path_and_the_value_path_agree() {
        let texts = [
            r#"{"type":"record","name":"I","fields":[{"name":"USER_ID","type":"string"},{"name":"N","type":["null","long"]}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"GENRE","type":"string","categorical":true}],"version":"1.0"}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"D","type":"string","textual":true,"categorical":null}]}"#,
            r#"{"type":"record","name":"I","fields":[]}"#,
            r#"{"type":"enum","name":"I","fields":[{"name":"A","type":"string"}]}"#,
            r#"{"type":"record","name":"1I","fields":[{"name":"A","type":"string"}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"A","type":"bytes"}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"A","type":"uuid"}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"A","type":["null"]}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"A","type":[]}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"A","type":["int","int"]}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"A","type":"null"}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"A","type":"int","categorical":true}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"A","type":"string","categorical":true,"textual":true}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"USER_ID","type":"string","categorical":true}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"item_id","type":"string"},{"name":"ITEMID","type":"string"}]}"#,
            r#"{"type":"record","name":"I","fields":[{"name":"bad-name","type":"string"}]}"#,
        ];
        for text in texts {
            // These all have the plain shape, so the typed path decides them.
            assert!(serde_json::from_str::<PlainRecord<'_>>(text).is_ok(), "{text}");
            let typed = parse_avro(text).map_err(|e| e.message);
            let general = parse_avro_value(text).map_err(|e| e.message);
            assert_eq!(typed, general, "{text}");
        }
        // Shapes the typed path declines still get their precise answer.
        let long_form = r#"{"type":"record","name":"I","fields":[{"name":"A","type":{"type":"string"}}]}"#;
        assert!(serde_json::from_str::<PlainRecord<'_>>(long_form).is_err());
        assert_eq!(parse_avro(long_form).unwrap()[0].types, ["string"]);
        assert!(
            err(
                r#"{"type":"record","name":"I","fields":[{"name":"A","type":"string","categorical":"yes"}]}"#
            )
            .contains("must be a boolean")
        );
    }

    #[test]
    fn accepts_the_documented_interactions_schema() {
        let f = parse_avro(
            r#"{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",
            "fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},
            {"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"},
            {"name":"EVENT_VALUE","type":["float","null"]},
            {"name":"LOCATION","type":"string","categorical":true}],"version":"1.0"}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 6);
        assert!(f[4].nullable() && f[4].is_numeric());
        assert!(f[5].categorical);
    }

    #[test]
    fn rejects_what_personalize_rejects() {
        let cases: &[(&str, &str)] = &[
            ("not json", "not valid JSON"),
            (r#"[1]"#, "must be an Avro record"),
            (r#"{"type":"enum","name":"X","fields":[]}"#, "must be \"record\""),
            (
                r#"{"type":"record","fields":[{"name":"A","type":"string"}]}"#,
                "valid \"name\"",
            ),
            (r#"{"type":"record","name":"X"}"#, "\"fields\" array"),
            (
                r#"{"type":"record","name":"X","fields":[]}"#,
                "at least one field",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A"}]}"#,
                "must have a \"type\"",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"1A","type":"string"}]}"#,
                "must match",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":{"type":"array","items":"string"}}]}"#,
                "must be flat",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":{"type":"record","name":"Y","fields":[]}}]}"#,
                "must be flat",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":"decimal"}]}"#,
                "unsupported type",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":"null"}]}"#,
                "other than null",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":[]}]}"#,
                "empty union",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":["string","string"]}]}"#,
                "repeats",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":"int","categorical":true}]}"#,
                "only if its type is string",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":"string","categorical":"yes"}]}"#,
                "must be a boolean",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"EVENT_TYPE","type":"string","categorical":true}]}"#,
                "cannot be categorical",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"GENRES_FIELD_1","type":"string"},{"name":"GENRESFIELD1","type":"string"}]}"#,
                "conflicts with",
            ),
            (
                r#"{"type":"record","name":"X","fields":[{"name":"A","type":"string","categorical":true,"textual":true}]}"#,
                "both categorical and textual",
            ),
        ];
        for (text, want) in cases {
            let got = err(text);
            assert!(got.contains(want), "{text}: {got}");
            assert!(got.starts_with("Invalid schema."), "{got}");
        }
    }

    #[test]
    fn normalise_matches_camel_case_properties() {
        assert_eq!(normalise("numberOfRatings"), normalise("NUMBER_OF_RATINGS"));
        for (a, b) in [
            ("numberOfRatings", "NUMBER_OF_RATINGS"),
            ("ITEM_ID", "itemId"),
            ("ITEM_ID", "ITEM_IDS"),
            ("a_b", "ab"),
            ("straße", "STRASSE"),
            ("x", ""),
        ] {
            assert_eq!(same_normalised(a, b), normalise(a) == normalise(b), "{a} vs {b}");
        }
    }
}
