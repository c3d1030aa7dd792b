//! Filters: CreateFilter, DescribeFilter, ListFilters, DeleteFilter, the filter expression
//! parser, and evaluation against the stored data for the Runtime and batch jobs.
//!
//! Grammar (keywords case-insensitive, dataset and column names as in the schema):
//!
//! ```text
//! filter    := part ( "|" part )*
//! part      := ( INCLUDE | EXCLUDE ) ( ItemID | UserID | ActionID ) WHERE or [ IF user ]
//! or        := and ( OR and )*
//! and       := atom ( AND atom )*
//! atom      := "(" or ")" | Dataset "." COLUMN test
//! test      := [ NOT ] IN ( "(" value ( "," value )* ")" | $PARAM | CurrentItem "." COLUMN )
//!            | ( "=" | "!=" | "<" | "<=" | ">" | ">=" ) value
//! value     := "string" | number | $PARAM | CurrentItem "." COLUMN
//! user      := CurrentUser "." COLUMN test ( AND CurrentUser "." COLUMN test )*
//! ```
//!
//! Rules checked at creation, from the developer guide: the datasets must suit the target
//! (items: Items or Interactions; users: Users or Interactions; actions: Actions or
//! Action_Interactions), one part uses one dataset, interaction conditions test only
//! `EVENT_TYPE`, ordering comparisons need a number, a parameter or a CurrentItem column,
//! columns must exist in the dataset's schema and must not be boolean, and `CurrentItem`
//! only appears in item filters.
//!
//! Evaluation, as documented: `INCLUDE` parts keep candidates matching any of them,
//! `EXCLUDE` parts drop candidates matching any of them; a part whose `IF` condition fails or
//! whose parameter has no value in `filterValues` is skipped. Event types match
//! case-insensitively and `"*"` matches every event type. Multi-valued string columns hold
//! `|`-separated values; `IN` matches when any of them is in the list.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::schema::normalise;
use super::{DatasetType, Entity, Meta, already_exists, durations, not_found, ts};
use crate::Store;
use crate::common::{Cx, Lifecycle, Members, check_len, check_name};
use crate::error::{Error, Result};

mod parse;

pub(crate) use parse::parse;
use parse::syntax;

/// Filters per dataset group (the service quota).
pub(crate) const MAX_FILTERS_PER_GROUP: usize = 10;

/// What a filter selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Target {
    /// Item recommendations (`ItemID`).
    Item,
    /// User segments (`UserID`).
    User,
    /// Action recommendations (`ActionID`).
    Action,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Op {
    In,
    NotIn,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A right-hand value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Operand {
    Str(String),
    Num(f64),
    Param(String),
    CurrentItem(String),
}

/// A condition on one column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Test {
    dataset: DatasetType,
    column: String,
    op: Op,
    values: Vec<Operand>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Cond {
    Test(Test),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Part {
    include: bool,
    target: Target,
    cond: Cond,
    /// `IF CurrentUser...` tests (column, op, values).
    user_if: Vec<Test>,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Expr {
    parts: Vec<Part>,
}

impl Expr {
    /// What the filter selects.
    pub(crate) fn target(&self) -> Target {
        self.parts.first().map_or(Target::Item, |p| p.target)
    }

    /// The parameter names (without `$`) the expression uses.
    pub(crate) fn params(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |t: &Test| {
            for v in &t.values {
                if let Operand::Param(p) = v
                    && !out.contains(p)
                {
                    out.push(p.clone());
                }
            }
        };
        fn walk(c: &Cond, f: &mut dyn FnMut(&Test)) {
            match c {
                Cond::Test(t) => f(t),
                Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| walk(c, f)),
            }
        }
        for p in &self.parts {
            walk(&p.cond, &mut push);
            p.user_if.iter().for_each(&mut push);
        }
        out
    }
}

fn first_dataset(c: &Cond) -> Option<DatasetType> {
    match c {
        Cond::Test(t) => Some(t.dataset),
        Cond::And(cs) | Cond::Or(cs) => cs.first().and_then(first_dataset),
    }
}

fn tests<'a>(c: &'a Cond, out: &mut Vec<&'a Test>) {
    match c {
        Cond::Test(t) => out.push(t),
        Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| tests(c, out)),
    }
}

/// Checks the parsed expression against the group's datasets and schemas.
fn validate(store: &Store, cx: &Cx<'_>, dsg: &str, e: &Expr) -> Result<()> {
    let target = e.target();
    let schema_of = |ty: DatasetType| {
        super::datasets_of(store, dsg)
            .find(|d| d.dataset_type == ty)
            .and_then(|d| super::dataset_schema(store, cx, d))
    };
    let check_column = |ty: DatasetType, column: &str| -> Result<bool> {
        let schema = schema_of(ty).ok_or_else(|| {
            syntax(format!(
                "The dataset group has no {} dataset.",
                ty.as_str().to_ascii_lowercase()
            ))
        })?;
        let f = schema.field(column).ok_or_else(|| {
            syntax(format!(
                "Field {column} is not in the {} dataset schema.",
                ty.as_str()
            ))
        })?;
        if f.has_type("boolean") {
            return Err(syntax(format!(
                "Field {column} is boolean; filters cannot use boolean fields."
            )));
        }
        Ok(f.is_numeric())
    };
    for p in &e.parts {
        if p.target != target {
            return Err(syntax(
                "All expressions combined with '|' must filter the same kind of ID.",
            ));
        }
        let first = first_dataset(&p.cond).unwrap_or(DatasetType::Items);
        let allowed: &[DatasetType] = match target {
            Target::Item => &[DatasetType::Items, DatasetType::Interactions],
            Target::User => &[DatasetType::Users, DatasetType::Interactions],
            Target::Action => &[DatasetType::Actions, DatasetType::ActionInteractions],
        };
        let mut ts = Vec::new();
        tests(&p.cond, &mut ts);
        for t in ts {
            if !allowed.contains(&t.dataset) {
                return Err(syntax(format!(
                    "{} conditions cannot filter this kind of ID.",
                    t.dataset.as_str()
                )));
            }
            if t.dataset != first {
                return Err(syntax(
                    "Conditions chained with AND or OR must use the same dataset; combine expressions with '|' instead.",
                ));
            }
            let interactions = matches!(
                t.dataset,
                DatasetType::Interactions | DatasetType::ActionInteractions
            );
            if interactions {
                if !t.column.eq_ignore_ascii_case("EVENT_TYPE") {
                    return Err(syntax("Interaction conditions can only test EVENT_TYPE."));
                }
                if !matches!(t.op, Op::In | Op::NotIn) {
                    return Err(syntax("EVENT_TYPE can only be tested with IN or NOT IN."));
                }
                schema_of(t.dataset).ok_or_else(|| {
                    syntax(format!(
                        "The dataset group has no {} dataset.",
                        t.dataset.as_str().to_ascii_lowercase()
                    ))
                })?;
            } else {
                let numeric = check_column(t.dataset, &t.column)?;
                check_operands(t, numeric, target)?;
                for v in &t.values {
                    if let Operand::CurrentItem(c) = v {
                        check_column(DatasetType::Items, c)?;
                    }
                }
            }
        }
        for t in &p.user_if {
            let numeric = check_column(DatasetType::Users, &t.column)?;
            check_operands(t, numeric, target)?;
            if t.values.iter().any(|v| matches!(v, Operand::CurrentItem(_))) {
                return Err(syntax("IF conditions cannot use CurrentItem."));
            }
        }
    }
    Ok(())
}

fn check_operands(t: &Test, numeric: bool, target: Target) -> Result<()> {
    let ordering = matches!(t.op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
    if ordering && !numeric {
        return Err(syntax(format!(
            "Field {} is not numeric and cannot be compared with '<', '>', '<=' or '>='.",
            t.column
        )));
    }
    for v in &t.values {
        match v {
            Operand::CurrentItem(_) if target != Target::Item => {
                return Err(syntax("CurrentItem can only be used when filtering items."));
            }
            Operand::Str(_) if ordering => {
                return Err(syntax(format!(
                    "Field {} is compared with '<', '>', '<=' or '>=' and needs a number.",
                    t.column
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// The request a filter is applied for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FilterRequest<'a> {
    /// The user recommendations are for (the candidate itself for user segments).
    pub(crate) user_id: Option<&'a str>,
    /// The current item (related-items recommendations), for `CurrentItem`.
    pub(crate) item_id: Option<&'a str>,
    /// `filterValues`: parameter name (without `$`) to a value list such as `"\"a\",\"b\""`.
    pub(crate) filter_values: Option<&'a Map<String, Value>>,
}

/// A filter bound to one request; [`PreparedFilter::keeps`] decides each candidate.
#[derive(Debug)]
pub(crate) struct PreparedFilter<'a> {
    includes: Vec<Cond>,
    excludes: Vec<Cond>,
    store: &'a Store,
    dsg: &'a str,
    /// Event types (lower case) of the current user's interactions, by item or action id.
    user_events: HashMap<&'a str, HashSet<String>>,
}

/// A comparable value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Scalar {
    S(String),
    N(f64),
}

fn scalars_of(v: &Value) -> Vec<Scalar> {
    match v {
        Value::String(s) => s.split('|').map(|p| Scalar::S(p.to_string())).collect(),
        Value::Number(n) => n.as_f64().map(Scalar::N).into_iter().collect(),
        Value::Bool(b) => vec![Scalar::S(if *b { "True".into() } else { "False".into() })],
        _ => Vec::new(),
    }
}

fn property<'e>(e: Option<&'e Entity>, column: &str) -> Option<&'e Value> {
    let want = normalise(column);
    e?.properties
        .iter()
        .find(|(k, _)| normalise(k) == want)
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// Parses one `filterValues` entry: comma-separated quoted strings or numbers.
fn parse_filter_value(name: &str, raw: &str) -> Result<Vec<Scalar>> {
    let mut out = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None => break,
            Some('"') => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(Error::invalid(format!(
                                "The value of filter parameter {name} is missing a closing quote."
                            )));
                        }
                        Some('\\') => s.extend(chars.next()),
                        Some('"') => break,
                        Some(c) => s.push(c),
                    }
                }
                out.push(Scalar::S(s));
            }
            Some(_) => {
                let mut s = String::new();
                while let Some(c) = chars.peek().copied() {
                    if c == ',' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                let s = s.trim();
                match s.parse::<f64>() {
                    Ok(n) => out.push(Scalar::N(n)),
                    Err(_) => out.push(Scalar::S(s.to_string())),
                }
            }
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(c) => {
                return Err(Error::invalid(format!(
                    "The value of filter parameter {name} has an unexpected '{c}'. Separate values with commas."
                )));
            }
        }
    }
    if out.len() > 100 {
        return Err(Error::invalid(format!(
            "Filter parameter {name} has more than 100 values."
        )));
    }
    Ok(out)
}

fn cmp_scalar(a: &Scalar, b: &Scalar) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Scalar::N(x), Scalar::N(y)) => x.partial_cmp(y),
        (Scalar::N(x), Scalar::S(s)) | (Scalar::S(s), Scalar::N(x)) => {
            let y: f64 = s.parse().ok()?;
            if matches!(a, Scalar::N(_)) {
                x.partial_cmp(&y)
            } else {
                y.partial_cmp(x)
            }
        }
        (Scalar::S(x), Scalar::S(y)) => Some(x.cmp(y)),
    }
}

/// Whether any of `have` relates to `want` by `op`.
fn compare(op: Op, have: &[Scalar], want: &[Scalar]) -> bool {
    use std::cmp::Ordering::*;
    if have.is_empty() {
        return false;
    }
    let any = |f: &dyn Fn(Option<std::cmp::Ordering>) -> bool| {
        have.iter().any(|h| want.iter().any(|w| f(cmp_scalar(h, w))))
    };
    match op {
        Op::In | Op::Eq => any(&|o| o == Some(Equal)),
        Op::NotIn | Op::Ne => !any(&|o| o == Some(Equal)),
        Op::Lt => any(&|o| o == Some(Less)),
        Op::Le => any(&|o| matches!(o, Some(Less | Equal))),
        Op::Gt => any(&|o| o == Some(Greater)),
        Op::Ge => any(&|o| matches!(o, Some(Greater | Equal))),
    }
}

impl<'a> PreparedFilter<'a> {
    /// Resolves parameters and `CurrentItem` columns; `None` when a parameter has no value
    /// (the part is then skipped).
    fn resolve(&self, t: &Test, req: &FilterRequest<'_>) -> Result<Option<Vec<Scalar>>> {
        let mut out = Vec::new();
        for v in &t.values {
            match v {
                Operand::Str(s) => out.push(Scalar::S(s.clone())),
                Operand::Num(n) => out.push(Scalar::N(*n)),
                Operand::Param(p) => {
                    let raw = req
                        .filter_values
                        .and_then(|m| m.get(p).or_else(|| m.get(&format!("${p}"))));
                    match raw {
                        None | Some(Value::Null) => return Ok(None),
                        Some(Value::String(s)) => out.extend(parse_filter_value(p, s)?),
                        Some(_) => {
                            return Err(Error::invalid(format!(
                                "The value of filter parameter {p} must be a string."
                            )));
                        }
                    }
                }
                Operand::CurrentItem(c) => {
                    let item = req
                        .item_id
                        .and_then(|id| self.records_entity(DatasetType::Items, id));
                    match property(item, c) {
                        Some(v) => out.extend(scalars_of(v)),
                        None => return Ok(Some(Vec::new())),
                    }
                }
            }
        }
        Ok(Some(out))
    }

    fn records_entity(&self, ty: DatasetType, id: &str) -> Option<&'a Entity> {
        let r = super::records(self.store, self.dsg)?;
        match ty {
            DatasetType::Items => r.items.get(id),
            DatasetType::Users => r.users.get(id),
            DatasetType::Actions => r.actions.get(id),
            _ => None,
        }
    }

    /// Replaces operands with resolved literal lists; `None` drops the part.
    fn bind(&self, c: &Cond, req: &FilterRequest<'_>) -> Result<Option<Cond>> {
        Ok(match c {
            Cond::Test(t) => self.resolve(t, req)?.map(|vals| {
                Cond::Test(Test {
                    values: vals
                        .into_iter()
                        .map(|s| match s {
                            Scalar::S(s) => Operand::Str(s),
                            Scalar::N(n) => Operand::Num(n),
                        })
                        .collect(),
                    ..t.clone()
                })
            }),
            Cond::And(cs) | Cond::Or(cs) => {
                let mut out = Vec::with_capacity(cs.len());
                for c in cs {
                    match self.bind(c, req)? {
                        Some(b) => out.push(b),
                        None => return Ok(None),
                    }
                }
                Some(if matches!(c, Cond::And(_)) {
                    Cond::And(out)
                } else {
                    Cond::Or(out)
                })
            }
        })
    }

    fn matches(&self, c: &Cond, candidate: &str) -> bool {
        match c {
            Cond::And(cs) => cs.iter().all(|c| self.matches(c, candidate)),
            Cond::Or(cs) => cs.iter().any(|c| self.matches(c, candidate)),
            Cond::Test(t) => {
                let want: Vec<Scalar> = t
                    .values
                    .iter()
                    .map(|v| match v {
                        Operand::Num(n) => Scalar::N(*n),
                        Operand::Str(s) | Operand::Param(s) | Operand::CurrentItem(s) => Scalar::S(s.clone()),
                    })
                    .collect();
                match t.dataset {
                    DatasetType::Interactions | DatasetType::ActionInteractions => {
                        let Some(types) = self.user_events.get(candidate) else {
                            return false;
                        };
                        let listed = |ty: &String| {
                            want.iter().any(|w| match w {
                                Scalar::S(s) => s == "*" || s.eq_ignore_ascii_case(ty),
                                Scalar::N(_) => false,
                            })
                        };
                        match t.op {
                            Op::NotIn => types.iter().any(|ty| !listed(ty)),
                            _ => types.iter().any(listed),
                        }
                    }
                    ty => {
                        let have = property(self.records_entity(ty, candidate), &t.column)
                            .map(scalars_of)
                            .unwrap_or_default();
                        compare(t.op, &have, &want)
                    }
                }
            }
        }
    }

    /// Whether the candidate (an item, user or action id) stays in the results.
    pub(crate) fn keeps(&self, candidate: &str) -> bool {
        (self.includes.is_empty() || self.includes.iter().any(|c| self.matches(c, candidate)))
            && !self.excludes.iter().any(|c| self.matches(c, candidate))
    }
}

// ---------------------------------------------------------------------------------------------
// The resource
// ---------------------------------------------------------------------------------------------

/// A filter.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Filter {
    /// ARN, name, lifecycle.
    pub(crate) meta: Meta,
    /// The owning group.
    pub(crate) dataset_group_arn: String,
    /// The expression as given.
    pub(crate) expression: String,
    /// The parsed expression.
    pub(crate) parsed: Expr,
}

impl Filter {
    /// What the filter selects.
    pub(crate) fn target(&self) -> Target {
        self.parsed.target()
    }

    /// Binds the filter to a request. Errors (`InvalidInputException`) for malformed
    /// `filterValues`; parts whose parameters have no value, or whose `IF` fails, are skipped.
    pub(crate) fn prepare<'a>(
        &'a self,
        store: &'a Store,
        req: &FilterRequest<'_>,
    ) -> Result<PreparedFilter<'a>> {
        if let Some(fv) = req.filter_values {
            if fv.len() > 25 {
                return Err(Error::invalid("filterValues can have at most 25 entries."));
            }
            let known = self.parsed.params();
            for k in fv.keys() {
                let k = k.strip_prefix('$').unwrap_or(k);
                if !known.iter().any(|p| p == k) {
                    return Err(Error::invalid(format!(
                        "Filter parameter {k} is not used by filter {}.",
                        self.meta.arn
                    )));
                }
            }
        }
        let dsg = self.dataset_group_arn.as_str();
        let mut user_events: HashMap<&'a str, HashSet<String>> = HashMap::new();
        let target = self.target();
        if let (Some(user), Some(r)) = (req.user_id, super::records(store, dsg)) {
            match target {
                Target::Action => {
                    for i in r
                        .action_interactions
                        .iter()
                        .filter(|i| i.user_id.as_deref() == Some(user))
                    {
                        user_events
                            .entry(i.action_id.as_str())
                            .or_default()
                            .insert(i.event_type.to_lowercase());
                    }
                }
                Target::Item => {
                    for i in r.interactions.iter().filter(|i| i.user_id == user) {
                        user_events
                            .entry(i.item_id.as_str())
                            .or_default()
                            .insert(i.event_type.to_lowercase());
                    }
                }
                Target::User => {}
            }
        }
        if target == Target::User
            && let Some(r) = super::records(store, dsg)
        {
            // For user segments the candidate is the user: any interaction counts.
            for i in &r.interactions {
                user_events
                    .entry(i.user_id.as_str())
                    .or_default()
                    .insert(i.event_type.to_lowercase());
            }
        }
        let mut p = PreparedFilter {
            includes: Vec::new(),
            excludes: Vec::new(),
            store,
            dsg,
            user_events,
        };
        for part in &self.parsed.parts {
            if !part.user_if.is_empty() {
                let user = req.user_id.and_then(|u| p.records_entity(DatasetType::Users, u));
                let mut ok = true;
                for t in &part.user_if {
                    let Some(want) = p.resolve(t, req)? else {
                        ok = false;
                        break;
                    };
                    let have = property(user, &t.column).map(scalars_of).unwrap_or_default();
                    if !compare(t.op, &have, &want) {
                        ok = false;
                        break;
                    }
                }
                if !ok {
                    continue;
                }
            }
            if let Some(c) = p.bind(&part.cond, req)? {
                if part.include {
                    p.includes.push(c);
                } else {
                    p.excludes.push(c);
                }
            }
        }
        Ok(p)
    }

    /// `DescribeFilter`'s `filter`: the summary and the expression.
    pub(crate) fn full(&self, cx: &Cx<'_>) -> Value {
        let mut o = self.summary(cx);
        o["filterExpression"] = json!(self.expression);
        o
    }

    pub(crate) fn summary(&self, cx: &Cx<'_>) -> Value {
        json!({
            "name": self.meta.name,
            "filterArn": self.meta.arn,
            "creationDateTime": ts(self.meta.created),
            "lastUpdatedDateTime": ts(self.meta.last_updated(cx)),
            "datasetGroupArn": self.dataset_group_arn,
            "status": self.meta.status(cx),
        })
    }
}

pub(super) fn create(store: &mut Store, cx: &Cx<'_>, m: &Members<'_>) -> Result<Value> {
    let name = m.str("name")?;
    check_name("name", name)?;
    let dsg = m.arn("datasetGroupArn")?;
    let expression = m.str("filterExpression")?;
    check_len("filterExpression", expression, 1, 2500)?;
    let tags = super::check_tags(m)?;
    super::dataset_group_is_active(store, cx, dsg)?;
    let arn = cx.arn("filter", name);
    if store.data.filters.contains_key(&arn) {
        return Err(already_exists(&arn));
    }
    let parsed = parse(expression)?;
    validate(store, cx, dsg, &parsed)?;
    let count = store
        .data
        .filters
        .values()
        .filter(|f| f.dataset_group_arn == dsg)
        .count();
    if count >= MAX_FILTERS_PER_GROUP {
        return Err(Error::limit(format!(
            "Dataset group {dsg} already has {MAX_FILTERS_PER_GROUP} filters, the maximum."
        )));
    }
    let lc = Lifecycle::create(cx.ctx.now, durations::FILTER);
    let meta = Meta::new(&mut store.data.seq, cx, arn.clone(), name, lc);
    store.data.filters.insert(
        arn.clone(),
        Filter {
            meta,
            dataset_group_arn: dsg.to_string(),
            expression: expression.to_string(),
            parsed,
        },
    );
    super::register_tags(store, &arn, tags);
    Ok(json!({ "filterArn": arn }))
}

pub(super) fn delete(store: &mut Store, m: &Members<'_>) -> Result<Value> {
    let arn = m.arn("filterArn")?;
    if store.data.filters.remove(arn).is_none() {
        return Err(not_found(arn));
    }
    super::forget_tags(store, arn);
    Ok(json!({}))
}

#[cfg(test)]
mod tests;
