//! The answer key: one line per malicious or notable event a scenario produced, kept outside
//! the log files (records carry nothing a real record would not), and the score of a detection
//! run against it: recall per technique, precision per technique and per rule.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the answer key says of a planned call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// The technique's name (MITRE ATT&CK's).
    pub technique: String,
    /// Its MITRE ATT&CK ID (`T1562.008`).
    pub mitre: String,
    /// The scenario step: the behaviour's name, and for an attack path the step's.
    pub step: String,
}

/// One line of the answer key (JSON Lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelLine {
    /// The record's `eventID`; empty in live mode, where the server assigns it (the record is
    /// then found by its `requestID`).
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// The record's `requestID`.
    #[serde(rename = "requestID", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Its `eventTime`.
    pub event_time: String,
    /// Its `eventName`.
    pub event_name: String,
    /// Its `eventSource`.
    pub event_source: String,
    /// The account it is recorded in.
    pub account: String,
    /// Its `awsRegion`.
    pub region: String,
    /// The technique.
    pub technique: String,
    /// The MITRE ATT&CK ID.
    pub mitre: String,
    /// The scenario step.
    pub step: String,
    /// Who acted: the caller's ARN (or service principal).
    pub actor: String,
}

/// The answer key as JSON Lines, in time order (then by event ID), so it is the same for a seed
/// whatever ran it.
pub fn to_jsonl(mut lines: Vec<LabelLine>) -> String {
    lines.sort_by(|a, b| (&a.event_time, &a.event_id).cmp(&(&b.event_time, &b.event_id)));
    let mut out = String::new();
    for l in &lines {
        if let Ok(s) = serde_json::to_string(l) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    out
}

/// Reads an answer key.
pub fn parse_labels(text: &str) -> Result<Vec<LabelLine>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("labels line {}: {e}", i + 1)))
        .collect()
}

/// One alert a detection raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The `eventID` it fired on.
    pub event_id: String,
    /// The technique the rule claims to detect, when the alert says.
    pub technique: Option<String>,
    /// The rule's name, when the alert says.
    pub rule: Option<String>,
}

/// Reads alerts: one `eventID` per line, a JSON array of IDs or of objects, or JSON Lines of
/// objects. Objects carry `eventID` (or `eventId`, `event_id`, `id`) and optionally `technique`
/// (a name or an ATT&CK ID) and `rule`.
pub fn parse_alerts(text: &str) -> Result<Vec<Alert>, String> {
    fn from_value(v: &Value) -> Option<Alert> {
        if let Some(id) = v.as_str() {
            return Some(Alert {
                event_id: id.to_owned(),
                technique: None,
                rule: None,
            });
        }
        let o = v.as_object()?;
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| o.get(*n).and_then(Value::as_str).map(str::to_owned))
        };
        Some(Alert {
            event_id: field(&["eventID", "eventId", "event_id", "id", "requestID", "requestId"])?,
            technique: field(&["technique", "mitre"]),
            rule: field(&["rule", "rule_name", "title"]),
        })
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let v: Value = serde_json::from_str(trimmed).map_err(|e| format!("alerts: {e}"))?;
        let items = v.as_array().cloned().unwrap_or_default();
        return items
            .iter()
            .enumerate()
            .map(|(i, v)| from_value(v).ok_or_else(|| format!("alerts item {}: no eventID", i + 1)))
            .collect();
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('{') {
            let v: Value = serde_json::from_str(line).map_err(|e| format!("alerts line {}: {e}", i + 1))?;
            out.push(from_value(&v).ok_or_else(|| format!("alerts line {}: no eventID", i + 1))?);
        } else {
            out.push(Alert {
                event_id: line.trim_matches('"').to_owned(),
                technique: None,
                rule: None,
            });
        }
    }
    Ok(out)
}

/// One technique's row of a score.
#[derive(Debug, Clone, PartialEq)]
pub struct TechniqueScore {
    /// The technique and its ATT&CK ID.
    pub technique: String,
    /// Its ATT&CK ID.
    pub mitre: String,
    /// Events labelled with it.
    pub labelled: usize,
    /// Of those, how many some alert fired on.
    pub detected: usize,
    /// Alerts that claimed this technique, and how many of them fired on an event labelled with it.
    pub claimed: usize,
    /// See `claimed`.
    pub claimed_right: usize,
}

impl TechniqueScore {
    /// `detected / labelled`.
    pub fn recall(&self) -> f64 {
        ratio(self.detected, self.labelled)
    }

    /// `claimed_right / claimed`, `None` when no alert claimed the technique.
    pub fn precision(&self) -> Option<f64> {
        (self.claimed > 0).then(|| ratio(self.claimed_right, self.claimed))
    }
}

/// One rule's row of a score.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleScore {
    /// The rule.
    pub rule: String,
    /// Its alerts (distinct events).
    pub alerts: usize,
    /// Of those, on labelled events.
    pub true_positives: usize,
}

/// A detection run scored against an answer key.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Per technique, by ATT&CK ID.
    pub techniques: Vec<TechniqueScore>,
    /// Per rule, when alerts name their rule.
    pub rules: Vec<RuleScore>,
    /// Distinct events alerted on.
    pub alerted: usize,
    /// Of those, labelled.
    pub true_positives: usize,
    /// Labelled events.
    pub labelled: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl Score {
    /// Scores `alerts` against `labels`.
    pub fn new(labels: &[LabelLine], alerts: &[Alert]) -> Score {
        // A label is found by its eventID, or by its requestID (live mode's labels have only that).
        let mut by_id: HashMap<&str, &LabelLine> = HashMap::new();
        for l in labels {
            if !l.event_id.is_empty() {
                by_id.insert(&l.event_id, l);
            }
            if let Some(r) = l.request_id.as_deref() {
                by_id.insert(r, l);
            }
        }
        let alerted: HashSet<&str> = alerts.iter().map(|a| a.event_id.as_str()).collect();
        let mut techniques: BTreeMap<&str, TechniqueScore> = BTreeMap::new();
        for l in labels {
            let t = techniques.entry(&l.mitre).or_insert_with(|| TechniqueScore {
                technique: l.technique.clone(),
                mitre: l.mitre.clone(),
                labelled: 0,
                detected: 0,
                claimed: 0,
                claimed_right: 0,
            });
            t.labelled += 1;
            if alerted.contains(l.event_id.as_str())
                || l.request_id.as_deref().is_some_and(|r| alerted.contains(r))
            {
                t.detected += 1;
            }
        }
        // An alert that claims a technique counts once per (technique, event).
        let mut claims: HashSet<(String, &str)> = HashSet::new();
        for a in alerts {
            let Some(claim) = a.technique.as_deref() else {
                continue;
            };
            let Some(t) = techniques
                .values_mut()
                .find(|t| t.mitre.eq_ignore_ascii_case(claim) || t.technique.eq_ignore_ascii_case(claim))
            else {
                continue;
            };
            if !claims.insert((t.mitre.clone(), a.event_id.as_str())) {
                continue;
            }
            t.claimed += 1;
            if by_id.get(a.event_id.as_str()).is_some_and(|l| l.mitre == t.mitre) {
                t.claimed_right += 1;
            }
        }
        let mut rules: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
        for a in alerts {
            if let Some(r) = a.rule.as_deref() {
                rules.entry(r).or_default().insert(a.event_id.as_str());
            }
        }
        Score {
            techniques: techniques.into_values().collect(),
            rules: rules
                .into_iter()
                .map(|(rule, ids)| RuleScore {
                    rule: rule.to_owned(),
                    alerts: ids.len(),
                    true_positives: ids.iter().filter(|id| by_id.contains_key(*id)).count(),
                })
                .collect(),
            alerted: alerted.len(),
            true_positives: alerted.iter().filter(|id| by_id.contains_key(*id)).count(),
            labelled: labels.len(),
        }
    }

    /// Overall precision: alerted events that are labelled, over alerted events.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.alerted)
    }

    /// Overall recall: labelled events alerted on, over labelled events.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.labelled)
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<11} {:<64} {:>8} {:>8} {:>7} {:>9}",
            "technique", "name", "labelled", "detected", "recall", "precision"
        )?;
        for t in &self.techniques {
            let precision = t
                .precision()
                .map_or_else(|| "-".to_owned(), |p| format!("{p:.3}"));
            writeln!(
                f,
                "{:<11} {:<64.64} {:>8} {:>8} {:>7.3} {:>9}",
                t.mitre,
                t.technique,
                t.labelled,
                t.detected,
                t.recall(),
                precision
            )?;
        }
        if !self.rules.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "{:<48} {:>8} {:>8} {:>9}",
                "rule", "alerts", "true pos", "precision"
            )?;
            for r in &self.rules {
                writeln!(
                    f,
                    "{:<48} {:>8} {:>8} {:>9.3}",
                    r.rule,
                    r.alerts,
                    r.true_positives,
                    ratio(r.true_positives, r.alerts)
                )?;
            }
        }
        writeln!(f)?;
        write!(
            f,
            "overall: {} alerted events, {} on labelled events, {} on unlabelled ones; precision {:.3}, recall {:.3} ({} labelled)",
            self.alerted,
            self.true_positives,
            self.alerted - self.true_positives,
            self.precision(),
            self.recall(),
            self.labelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, mitre: &str) -> LabelLine {
        LabelLine {
            event_id: id.to_owned(),
            request_id: None,
            event_time: "2026-01-05T10:00:00Z".to_owned(),
            event_name: "StopLogging".to_owned(),
            event_source: "cloudtrail.amazonaws.com".to_owned(),
            account: "123456789012".to_owned(),
            region: "us-east-1".to_owned(),
            technique: format!("technique {mitre}"),
            mitre: mitre.to_owned(),
            step: "leaked-key/stop-logging".to_owned(),
            actor: "arn:aws:iam::123456789012:user/ci-deploy".to_owned(),
        }
    }

    #[test]
    fn alerts_read_as_ids_json_arrays_and_json_lines() {
        let ids = parse_alerts("a\n\n# comment\n\"b\"\n").unwrap();
        assert_eq!(
            ids.iter().map(|a| a.event_id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let arr = parse_alerts(r#"["a", {"eventID": "b", "rule": "r1", "technique": "T1"}]"#).unwrap();
        assert_eq!(arr[1].rule.as_deref(), Some("r1"));
        assert_eq!(arr[1].technique.as_deref(), Some("T1"));
        let jl = parse_alerts("{\"eventId\": \"c\"}\n{\"id\": \"d\"}\n").unwrap();
        assert_eq!(jl.len(), 2);
        assert!(parse_alerts("{\"rule\": \"x\"}").is_err());
    }

    #[test]
    fn scores_recall_per_technique_and_precision_where_claimed() {
        let labels = vec![line("e1", "T1"), line("e2", "T1"), line("e3", "T2")];
        let alerts = vec![
            Alert {
                event_id: "e1".into(),
                technique: Some("T1".into()),
                rule: Some("r".into()),
            },
            Alert {
                event_id: "e3".into(),
                technique: Some("T1".into()),
                rule: Some("r".into()),
            },
            Alert {
                event_id: "x".into(),
                technique: None,
                rule: Some("r".into()),
            },
        ];
        let s = Score::new(&labels, &alerts);
        let t1 = &s.techniques[0];
        assert_eq!(
            (t1.labelled, t1.detected, t1.claimed, t1.claimed_right),
            (2, 1, 2, 1)
        );
        assert_eq!(t1.recall(), 0.5);
        assert_eq!(t1.precision(), Some(0.5));
        let t2 = &s.techniques[1];
        assert_eq!((t2.labelled, t2.detected), (1, 1));
        assert_eq!(t2.precision(), None);
        assert_eq!((s.alerted, s.true_positives), (3, 2));
        assert_eq!(s.rules[0].alerts, 3);
        assert!(s.to_string().contains("precision 0.667, recall 0.667"));
    }

    #[test]
    fn the_answer_key_is_in_time_order_and_reads_back() {
        let mut late = line("b", "T1");
        late.event_time = "2026-01-05T11:00:00Z".to_owned();
        let text = to_jsonl(vec![late.clone(), line("a", "T1")]);
        let back = parse_labels(&text).unwrap();
        assert_eq!(back[0].event_id, "a");
        assert_eq!(back[1], late);
        assert!(text.contains("\"eventID\":\"a\""));
    }
}
