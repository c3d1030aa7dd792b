//! Exclusive XML Canonicalization 1.0 without comments (<https://www.w3.org/TR/xml-exc-c14n/>),
//! the form SAML identity providers sign: an element rendered with only the namespaces it
//! visibly uses (and those an `InclusiveNamespaces` list names), attributes and namespace
//! declarations sorted, and character data escaped one way.

use super::xml::{Element, Node};

/// The algorithm URI of this canonicalisation.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// `apex` and everything below it, canonicalised, leaving out `exclude` (the enveloped
/// signature) and its subtree. `inclusive` is the `InclusiveNamespaces` prefix list
/// (`#default` for the default namespace).
pub fn canonicalize(apex: &Element, exclude: Option<&Element>, inclusive: &[String]) -> String {
    let inclusive: Vec<&str> = inclusive
        .iter()
        .map(|p| if p == "#default" { "" } else { p.as_str() })
        .collect();
    let mut out = String::new();
    let mut rendered = Vec::new();
    element(apex, exclude, &inclusive, &mut rendered, &mut out);
    out
}

fn element<'a>(
    e: &'a Element,
    exclude: Option<&Element>,
    inclusive: &[&'a str],
    rendered: &mut Vec<(&'a str, &'a str)>,
    out: &mut String,
) {
    if exclude.is_some_and(|x| std::ptr::eq(x, e)) {
        return;
    }
    let mut wanted: Vec<&str> = vec![e.prefix.as_str()];
    wanted.extend(
        e.attrs
            .iter()
            .map(|a| a.prefix.as_str())
            .filter(|p| !p.is_empty() && *p != "xml"),
    );
    wanted.extend(
        inclusive
            .iter()
            .copied()
            .filter(|p| e.scope.iter().any(|(q, _)| q == p)),
    );
    wanted.sort_unstable();
    wanted.dedup();
    let before = rendered.len();
    let mut decls: Vec<(&str, &str)> = Vec::new();
    for p in wanted {
        let uri = e
            .scope
            .iter()
            .rev()
            .find(|(q, _)| q == p)
            .map_or("", |(_, u)| u.as_str());
        let current = rendered.iter().rev().find(|(q, _)| *q == p).map(|(_, u)| *u);
        let needed = if p.is_empty() && uri.is_empty() {
            current.is_some_and(|u| !u.is_empty())
        } else {
            current != Some(uri)
        };
        if needed {
            decls.push((p, uri));
        }
    }
    out.push('<');
    qname(out, &e.prefix, &e.local);
    for (p, uri) in &decls {
        if p.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push_str("=\"");
        }
        escape_attr(out, uri);
        out.push('"');
    }
    rendered.extend(decls);
    let mut attrs: Vec<_> = e.attrs.iter().collect();
    attrs.sort_by(|a, b| (a.ns.as_str(), a.local.as_str()).cmp(&(b.ns.as_str(), b.local.as_str())));
    for a in attrs {
        out.push(' ');
        qname(out, &a.prefix, &a.local);
        out.push_str("=\"");
        escape_attr(out, &a.value);
        out.push('"');
    }
    out.push('>');
    for child in &e.children {
        match child {
            Node::Element(c) => element(c, exclude, inclusive, rendered, out),
            Node::Text(t) => escape_text(out, t),
        }
    }
    out.push_str("</");
    qname(out, &e.prefix, &e.local);
    out.push('>');
    rendered.truncate(before);
}

fn qname(out: &mut String, prefix: &str, local: &str) {
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(local);
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::xml::parse;
    use super::*;

    fn c14n_of_first_child(doc: &str, inclusive: &[&str]) -> String {
        let root = parse(doc).unwrap();
        let apex = root.elements().next().unwrap();
        let inclusive: Vec<String> = inclusive.iter().map(|s| (*s).to_owned()).collect();
        canonicalize(apex, None, &inclusive)
    }

    #[test]
    fn only_visibly_used_namespaces_are_rendered() {
        // The example of the specification's section 2.2: `n1` is in scope but unused.
        let doc = r#"<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>"#;
        assert_eq!(
            c14n_of_first_child(doc, &[]),
            r#"<n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>"#
        );
    }

    #[test]
    fn inclusive_prefixes_sorting_escaping_and_the_default_namespace() {
        let doc = "<r xmlns=\"urn:d\" xmlns:b=\"urn:b\" xmlns:a=\"urn:a\"><x b:z=\"1\" a:y=\"2\" c=\"&quot;&#9;\">a&gt;b&#13;</x></r>";
        assert_eq!(
            c14n_of_first_child(doc, &["a", "zz"]),
            "<x xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" c=\"&quot;&#x9;\" a:y=\"2\" b:z=\"1\">a&gt;b&#xD;</x>"
        );
        // An unqualified child of a default-namespaced apex undeclares the default.
        let doc = "<r xmlns=\"urn:d\"><x><y xmlns=\"\"/></x></r>";
        assert_eq!(
            c14n_of_first_child(doc, &[]),
            "<x xmlns=\"urn:d\"><y xmlns=\"\"></y></x>"
        );
        let doc = "<r><x><y xmlns=\"\"/></x></r>";
        assert_eq!(c14n_of_first_child(doc, &[]), "<x><y></y></x>");
    }

    #[test]
    fn the_excluded_subtree_is_left_out() {
        let root = parse("<r><a/><s><t/></s><b/></r>").unwrap();
        let s = root.elements().nth(1).unwrap();
        assert_eq!(canonicalize(&root, Some(s), &[]), "<r><a></a><b></b></r>");
    }
}
