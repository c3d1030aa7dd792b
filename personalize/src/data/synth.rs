//! The deterministic data set an import job "reads" from its `dataLocation`.
//!
//! The emulator has no S3, yet recommendations must come from data it has seen. So an import
//! job synthesises the rows its file would hold from the location string: the same location
//! always yields the same rows, different locations differ. All files share one id universe
//! (`user-1`..`user-50`, `item-1`..`item-100`, `action-1`..`action-20`), so an Interactions
//! file and an Items file imported separately describe the same users and items. Values follow
//! the dataset's schema: every column gets a value of its type, string columns take values
//! from a small vocabulary (several joined by `|` for categorical columns), and item
//! popularity is skewed so popularity-style recipes have something to rank.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::DatasetType;
use super::events::{ActionInteraction, Entity, Interaction};
use super::schema::{Field, INTERACTION_COLUMNS, Schema};

/// Users in the synthetic universe.
pub(crate) const USERS: u64 = 50;
/// Items in the synthetic universe.
pub(crate) const ITEMS: u64 = 100;
/// Actions in the synthetic universe.
pub(crate) const ACTIONS: u64 = 20;
/// First synthetic timestamp (2023-11-14T22:13:20Z).
const BASE_TIME: f64 = 1_700_000_000.0;

/// A small deterministic generator (SplitMix64) seeded from the location.
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeds from a string.
    pub(crate) fn new(seed: &str) -> Rng {
        let d = Sha256::digest(seed.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(d.get(..8).unwrap_or(&[0; 8]));
        Rng(u64::from_le_bytes(b))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const GENRES: &[&str] = &["Action", "Comedy", "Drama", "Horror", "Romance", "Documentary"];
const CATEGORIES: &[&str] = &["shoes", "books", "electronics", "toys", "garden", "beauty"];
const PLAIN: &[&str] = &["alpha", "beta", "gamma", "delta", "epsilon"];

fn vocabulary(field: &str) -> &'static [&'static str] {
    let f = field.to_ascii_uppercase();
    if f.contains("GENRE") {
        GENRES
    } else if f.contains("CATEG") {
        CATEGORIES
    } else {
        PLAIN
    }
}

/// A value for a metadata column.
fn value_for(rng: &mut Rng, f: &Field) -> Value {
    let upper = f.name.to_ascii_uppercase();
    if f.has_type("string") {
        let vocab = vocabulary(&f.name);
        let pick = |rng: &mut Rng| {
            vocab
                .get(rng.below(vocab.len() as u64) as usize)
                .copied()
                .unwrap_or("x")
        };
        if f.categorical && rng.below(3) == 0 {
            let a = pick(rng);
            let b = pick(rng);
            return if a == b {
                json!(a)
            } else {
                json!(format!("{a}|{b}"))
            };
        }
        return json!(pick(rng));
    }
    if f.has_type("long") || f.has_type("int") {
        if upper.contains("TIMESTAMP") {
            return json!(BASE_TIME as i64 - rng.below(86_400 * 365) as i64);
        }
        return json!(rng.below(100));
    }
    if f.has_type("float") || f.has_type("double") {
        let v = (rng.unit() * 10_000.0).round() / 100.0;
        return json!(v);
    }
    if f.has_type("boolean") {
        return json!(rng.below(2) == 1);
    }
    Value::Null
}

fn metadata(rng: &mut Rng, schema: &Schema, skip: &[&str]) -> Map<String, Value> {
    let mut props = Map::new();
    for f in &schema.fields {
        if skip.iter().any(|s| f.name.eq_ignore_ascii_case(s)) {
            continue;
        }
        props.insert(f.name.clone(), value_for(rng, f));
    }
    props
}

fn event_types(domain: Option<&str>) -> [&'static str; 2] {
    match domain {
        Some("ECOMMERCE") => ["View", "Purchase"],
        Some("VIDEO_ON_DEMAND") => ["Watch", "Click"],
        _ => ["click", "purchase"],
    }
}

/// The rows of one synthetic file.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    /// Users, items or actions, by id.
    pub(crate) entities: Vec<(String, Entity)>,
    /// Item interactions.
    pub(crate) interactions: Vec<Interaction>,
    /// Action interactions.
    pub(crate) action_interactions: Vec<ActionInteraction>,
}

/// Synthesises the rows at `location` for a dataset of type `ty` with `schema`.
pub(crate) fn rows(location: &str, ty: DatasetType, schema: &Schema, domain: Option<&str>) -> Rows {
    let mut rng = Rng::new(location);
    let mut out = Rows::default();
    let types = event_types(domain);
    match ty {
        DatasetType::Users | DatasetType::Items | DatasetType::Actions => {
            let (prefix, n, id) = match ty {
                DatasetType::Users => ("user", USERS, "USER_ID"),
                DatasetType::Items => ("item", ITEMS, "ITEM_ID"),
                _ => ("action", ACTIONS, "ACTION_ID"),
            };
            for i in 1..=n {
                let properties = metadata(&mut rng, schema, &[id]);
                out.entities.push((
                    format!("{prefix}-{i}"),
                    Entity {
                        properties,
                        bulk: true,
                    },
                ));
            }
        }
        DatasetType::Interactions => {
            let count = 300 + rng.below(201);
            for i in 0..count {
                let user = 1 + rng.below(USERS);
                // Squaring a uniform draw skews towards low item numbers: a popularity curve.
                let u = rng.unit();
                let item = 1 + ((u * u) * ITEMS as f64) as u64;
                let event_type = if rng.below(5) == 0 { types[1] } else { types[0] };
                let event_value = schema.field("EVENT_VALUE").map(|_| (1 + rng.below(5)) as f64);
                let properties = metadata(&mut rng, schema, INTERACTION_COLUMNS);
                out.interactions.push(Interaction {
                    user_id: format!("user-{user}"),
                    item_id: format!("item-{}", item.min(ITEMS)),
                    session_id: None,
                    event_type: event_type.to_string(),
                    event_value,
                    timestamp: BASE_TIME + (i * 60) as f64,
                    impression: Vec::new(),
                    recommendation_id: None,
                    properties,
                    bulk: true,
                });
            }
        }
        DatasetType::ActionInteractions => {
            let count = 100 + rng.below(101);
            for i in 0..count {
                let user = 1 + rng.below(USERS);
                let action = 1 + rng.below(ACTIONS);
                let event_type = if rng.below(4) == 0 { "NOT_TAKEN" } else { "TAKEN" };
                out.action_interactions.push(ActionInteraction {
                    user_id: Some(format!("user-{user}")),
                    action_id: format!("action-{action}"),
                    session_id: None,
                    event_type: event_type.to_string(),
                    timestamp: BASE_TIME + (i * 60) as f64,
                    properties: Map::new(),
                    bulk: true,
                });
            }
        }
    }
    out
}

/// The user ids a data deletion job's CSV at `location` lists: one to three synthetic users.
pub(crate) fn deletion_users(location: &str) -> Vec<String> {
    let mut rng = Rng::new(location);
    let n = 1 + rng.below(3);
    let mut ids: Vec<String> = (0..n).map(|_| format!("user-{}", 1 + rng.below(USERS))).collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::parse_avro;

    fn schema(text: &str) -> Schema {
        let fields = parse_avro(text).unwrap();
        Schema {
            meta: crate::data::testing::dummy_meta("s"),
            schema: text.into(),
            domain: None,
            fields,
        }
    }

    #[test]
    fn same_location_same_rows_and_ids_share_a_universe() {
        let s = schema(
            r#"{"type":"record","name":"Interactions","fields":[{"name":"USER_ID","type":"string"},
            {"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"}]}"#,
        );
        let a = rows("s3://b/i.csv", DatasetType::Interactions, &s, None);
        let b = rows("s3://b/i.csv", DatasetType::Interactions, &s, None);
        let c = rows("s3://b/other.csv", DatasetType::Interactions, &s, None);
        assert_eq!(a.interactions.len(), b.interactions.len());
        assert!((300..=500).contains(&a.interactions.len()));
        assert_eq!(a.interactions[7].item_id, b.interactions[7].item_id);
        assert!(
            a.interactions.len() != c.interactions.len()
                || a.interactions
                    .iter()
                    .zip(&c.interactions)
                    .any(|(x, y)| x.item_id != y.item_id)
        );
        for i in &a.interactions {
            let n: u64 = i.item_id.trim_start_matches("item-").parse().unwrap();
            assert!((1..=ITEMS).contains(&n));
        }
    }

    #[test]
    fn items_follow_the_schema() {
        let s = schema(
            r#"{"type":"record","name":"Items","fields":[{"name":"ITEM_ID","type":"string"},
            {"name":"GENRES","type":"string","categorical":true},{"name":"PRICE","type":"float"},
            {"name":"CREATION_TIMESTAMP","type":"long"},{"name":"ADULT","type":"boolean"}]}"#,
        );
        let r = rows("s3://b/items.csv", DatasetType::Items, &s, None);
        assert_eq!(r.entities.len() as u64, ITEMS);
        let (id, e) = &r.entities[0];
        assert_eq!(id, "item-1");
        assert!(
            e.properties["GENRES"]
                .as_str()
                .unwrap()
                .split('|')
                .all(|g| GENRES.contains(&g))
        );
        assert!(e.properties["PRICE"].is_f64());
        assert!(e.properties["CREATION_TIMESTAMP"].is_i64());
        assert!(e.properties["ADULT"].is_boolean());
        assert!(!e.properties.contains_key("ITEM_ID"));
    }

    #[test]
    fn deletion_lists_are_small_and_stable() {
        let a = deletion_users("s3://b/delete.csv");
        assert!(!a.is_empty() && a.len() <= 3);
        assert_eq!(a, deletion_users("s3://b/delete.csv"));
    }
}
