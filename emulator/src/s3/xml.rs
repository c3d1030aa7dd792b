//! The small pieces of S3's XML and header formats: escaping, URL encoding, dates, errors.

use time::OffsetDateTime;

/// S3's XML namespace.
pub(crate) const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// Every S3 XML document starts with this.
pub(crate) const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Escapes text for an XML element. Characters XML 1.0 cannot carry at all are replaced by
/// U+FFFD; keys with such characters are readable through `encoding-type=url`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Appends `<name>escaped text</name>`.
pub(crate) fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The URL encoding S3 applies to keys when asked for `encoding-type=url`: everything but
/// unreserved characters and `/` is percent-encoded (botocore decodes with `unquote_plus`,
/// so `+` must be encoded too).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes a path or query component; `plus_is_space` for query strings.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|c| char::from(*c).to_digit(16))?;
                let lo = bytes.get(i + 2).and_then(|c| char::from(*c).to_digit(16))?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `2009-10-12T17:50:30.000Z`, the timestamp form inside S3 XML.
pub(crate) fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http_date;
    use time::macros::datetime;

    #[test]
    fn formats() {
        let t = datetime!(2009-10-12 17:50:30.123 UTC);
        assert_eq!(iso_millis(t), "2009-10-12T17:50:30.123Z");
        assert_eq!(http_date(t), "Mon, 12 Oct 2009 17:50:30 GMT");
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(url_encode("a b+c/ü"), "a%20b%2Bc/%C3%BC");
        assert_eq!(percent_decode("a%20b+c", true).as_deref(), Some("a b c"));
        assert_eq!(percent_decode("a%20b+c", false).as_deref(), Some("a b+c"));
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%C3%BC", false).as_deref(), Some("ü"));
    }
}
