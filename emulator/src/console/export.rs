//! "Download events": Event history as CSV or JSON, one `LookupEvents` page at a time, written
//! as it is read so an export of 90 busy days never sits in memory.

use cloudtrail::history::LookupEvent;
use serde_json::Value;

/// The columns of the CSV, in the console's names and order.
pub(crate) const CSV_COLUMNS: &[&str] = &[
    "Event ID",
    "Event time",
    "User name",
    "Event name",
    "Resource type",
    "Resource name",
    "AWS access key",
    "Event source",
    "AWS region",
    "Error code",
    "Source IP address",
    "Read-only",
    "Request ID",
];

/// Which file a download writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `event_history.csv`.
    Csv,
    /// `event_history.json`: `{"Records": [...]}`, the records as a log file holds them.
    Json,
}

impl Format {
    /// From the `format` query parameter.
    pub(crate) fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The download's file name.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            Format::Csv => "event_history.csv",
            Format::Json => "event_history.json",
        }
    }

    /// Its media type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// What comes before the first event.
    pub(crate) fn head(self) -> String {
        match self {
            Format::Csv => {
                let mut line = CSV_COLUMNS.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
                line.push_str("\r\n");
                line
            }
            Format::Json => "{\"Records\":[".to_owned(),
        }
    }

    /// One event; `first` says whether it opens the list.
    pub(crate) fn event(self, e: &LookupEvent, first: bool) -> String {
        match self {
            Format::Csv => csv_row(e),
            Format::Json => {
                let sep = if first { "" } else { "," };
                format!("{sep}{}", e.cloud_trail_event)
            }
        }
    }

    /// What comes after the last event.
    pub(crate) fn tail(self) -> &'static str {
        match self {
            Format::Csv => "",
            Format::Json => "]}\n",
        }
    }
}

/// One CSV row of `e`.
pub(crate) fn csv_row(e: &LookupEvent) -> String {
    let record: Value = serde_json::from_str(&e.cloud_trail_event).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_default();
    let types: Vec<&str> = e.resources.iter().filter_map(|(t, _)| t.as_deref()).collect();
    let names: Vec<&str> = e.resources.iter().filter_map(|(_, n)| n.as_deref()).collect();
    let time = time::OffsetDateTime::from_unix_timestamp(e.event_time)
        .map(cloudtrail::timefmt::iso_seconds)
        .unwrap_or_default();
    let cells = [
        e.event_id.clone(),
        time,
        e.username.clone().unwrap_or_default(),
        e.event_name.clone(),
        types.join(", "),
        names.join(", "),
        e.access_key_id.clone().unwrap_or_default(),
        e.event_source.clone(),
        text(&record["awsRegion"]),
        text(&record["errorCode"]),
        text(&record["sourceIPAddress"]),
        e.read_only.clone(),
        text(&record["requestID"]),
    ];
    let mut line = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// One CSV cell (RFC 4180). A cell a spreadsheet would read as a formula (it starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, as OWASP advises against CSV
/// injection; cells with a quote, comma or line break are quoted.
pub(crate) fn cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains(['"', ',', '\n', '\r']) || guarded.starts_with('\'') {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, user: &str) -> LookupEvent {
        LookupEvent {
            event_id: "e1".into(),
            event_name: name.into(),
            read_only: "false".into(),
            access_key_id: Some("AKIAEXAMPLE".into()),
            event_time: 1_764_720_000,
            event_source: "personalize.amazonaws.com".into(),
            username: Some(user.into()),
            resources: vec![
                (Some("AWS::Personalize::DatasetGroup".into()), Some("arn:a".into())),
                (Some("AWS::Personalize::Schema".into()), Some("arn:b".into())),
            ],
            cloud_trail_event: r#"{"awsRegion":"us-east-1","errorCode":"AccessDenied","sourceIPAddress":"192.0.2.1","requestID":"r1"}"#.into(),
        }
    }

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            let c = cell(formula);
            assert!(c.starts_with("\"'"), "{formula:?} -> {c:?}");
        }
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }

    #[test]
    fn rows_have_every_column_in_order() {
        let head = Format::Csv.head();
        assert_eq!(
            head,
            "Event ID,Event time,User name,Event name,Resource type,Resource name,AWS access key,Event source,\
             AWS region,Error code,Source IP address,Read-only,Request ID\r\n"
        );
        let row = csv_row(&event("CreateSchema", "=cmd|' /C calc'!A0"));
        assert_eq!(
            row,
            "e1,2025-12-03T00:00:00Z,\"'=cmd|' /C calc'!A0\",CreateSchema,\"AWS::Personalize::DatasetGroup, \
             AWS::Personalize::Schema\",\"arn:a, arn:b\",AKIAEXAMPLE,personalize.amazonaws.com,us-east-1,AccessDenied,\
             192.0.2.1,false,r1\r\n"
        );
    }

    #[test]
    fn json_is_a_records_document() {
        let e = event("CreateSchema", "alice");
        let doc = format!(
            "{}{}{}{}",
            Format::Json.head(),
            Format::Json.event(&e, true),
            Format::Json.event(&e, false),
            Format::Json.tail()
        );
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["Records"].as_array().unwrap().len(), 2);
    }
}
