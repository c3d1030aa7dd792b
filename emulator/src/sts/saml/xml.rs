//! A namespace-aware XML tree, just enough for SAML responses and their signatures: elements
//! keep the prefixes they were written with and the namespaces in scope, so the tree can be
//! canonicalised exactly as the signer saw it. Documents with a DTD are refused, so no entity
//! can expand and nothing outside the document is ever read.

use thiserror::Error;

/// The namespace the `xml` prefix is bound to without a declaration.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// How deep elements may nest: a SAML response is a few levels deep.
const MAX_DEPTH: usize = 64;
/// How many elements a document may have.
const MAX_ELEMENTS: usize = 20_000;

/// Why a document is not one this parser accepts.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct XmlError(String);

fn err(message: impl Into<String>) -> XmlError {
    XmlError(message.into())
}

/// An attribute that is not a namespace declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// The prefix it was written with (`""` for none).
    pub prefix: String,
    /// Its local name.
    pub local: String,
    /// The namespace its prefix names (`""` for an unprefixed attribute).
    pub ns: String,
    /// Its value, with references replaced and whitespace normalised as a parser must.
    pub value: String,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data (text and CDATA sections), with references replaced.
    Text(String),
}

/// An element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The prefix it was written with (`""` for none).
    pub prefix: String,
    /// Its local name.
    pub local: String,
    /// Its namespace (`""` for none).
    pub ns: String,
    /// Its attributes, namespace declarations excluded.
    pub attrs: Vec<Attr>,
    /// The namespaces in scope here, by prefix (`""` is the default namespace; an empty URI
    /// undeclares it). Later entries win.
    pub scope: Vec<(String, String)>,
    /// Its children in document order.
    pub children: Vec<Node>,
}

impl Element {
    /// The namespace `prefix` names here, if any.
    pub fn ns_of(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.as_str())
    }

    /// Whether the element is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// The value of the unprefixed attribute `local`.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements `local` in namespace `ns`.
    pub fn children_named<'a>(&'a self, ns: &'a str, local: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |e| e.is(ns, local))
    }

    /// The one child element `local` in namespace `ns`, if there is exactly one.
    pub fn only_child<'a>(&'a self, ns: &'a str, local: &'a str) -> Option<&'a Element> {
        let mut it = self.children_named(ns, local);
        let first = it.next()?;
        it.next().is_none().then_some(first)
    }

    /// The element's text: its character data children, concatenated.
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// This element and every element below it, in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            let e = out[i];
            out.extend(e.elements());
            i += 1;
        }
        out
    }
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    use xmlparser::{ElementEnd, Token};

    // Open elements, innermost last; the first is a holder for the root.
    let mut stack: Vec<Element> = vec![empty("", "")];
    let mut pending: Option<(Element, Vec<Attr>)> = None;
    let mut count = 0usize;
    let mut root: Option<Element> = None;
    for token in xmlparser::Tokenizer::from(text) {
        let token = token.map_err(|e| err(format!("not well-formed XML: {e}")))?;
        match token {
            Token::Declaration { .. } | Token::Comment { .. } => {}
            Token::ProcessingInstruction { .. } => {
                if stack.len() > 1 {
                    return Err(err("processing instructions inside elements are not accepted"));
                }
            }
            Token::DtdStart { .. }
            | Token::EmptyDtd { .. }
            | Token::EntityDeclaration { .. }
            | Token::DtdEnd { .. } => {
                return Err(err("documents with a DTD are not accepted"));
            }
            Token::ElementStart { prefix, local, .. } => {
                if root.is_some() {
                    return Err(err("content after the root element"));
                }
                count += 1;
                if count > MAX_ELEMENTS || stack.len() > MAX_DEPTH {
                    return Err(err("the document is too large or nests too deeply"));
                }
                let parent_scope = stack.last().map(|p| p.scope.clone()).unwrap_or_default();
                let mut e = empty(prefix.as_str(), local.as_str());
                e.scope = parent_scope;
                pending = Some((e, Vec::new()));
            }
            Token::Attribute {
                prefix, local, value, ..
            } => {
                let (e, attrs) = pending
                    .as_mut()
                    .ok_or_else(|| err("attribute outside a start tag"))?;
                let value = unescape(value.as_str(), true)?;
                match (prefix.as_str(), local.as_str()) {
                    ("", "xmlns") => e.scope.push((String::new(), value)),
                    ("xmlns", p) => {
                        if value.is_empty() {
                            return Err(err(format!("namespace prefix {p} is bound to an empty URI")));
                        }
                        e.scope.push((p.to_owned(), value));
                    }
                    (p, l) => attrs.push(Attr {
                        prefix: p.to_owned(),
                        local: l.to_owned(),
                        ns: String::new(),
                        value,
                    }),
                }
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open | ElementEnd::Empty => {
                    let (mut e, attrs) = pending.take().ok_or_else(|| err("tag end outside a tag"))?;
                    resolve(&mut e, attrs)?;
                    if matches!(end, ElementEnd::Open) {
                        stack.push(e);
                    } else {
                        attach(&mut stack, &mut root, e)?;
                    }
                }
                ElementEnd::Close(prefix, local) => {
                    if stack.len() < 2 {
                        return Err(err("end tag without a start tag"));
                    }
                    let e = stack.pop().ok_or_else(|| err("end tag without a start tag"))?;
                    if e.prefix != prefix.as_str() || e.local != local.as_str() {
                        return Err(err(format!(
                            "end tag {}:{} does not close {}:{}",
                            prefix.as_str(),
                            local.as_str(),
                            e.prefix,
                            e.local
                        )));
                    }
                    attach(&mut stack, &mut root, e)?;
                }
            },
            Token::Text { text } => {
                let text = unescape(text.as_str(), false)?;
                push_text(&mut stack, text)?;
            }
            Token::Cdata { text, .. } => push_text(&mut stack, normalise_line_ends(text.as_str()))?,
        }
    }
    if stack.len() > 1 {
        return Err(err("the document ends inside an element"));
    }
    root.ok_or_else(|| err("the document has no root element"))
}

fn empty(prefix: &str, local: &str) -> Element {
    Element {
        prefix: prefix.to_owned(),
        local: local.to_owned(),
        ns: String::new(),
        attrs: Vec::new(),
        scope: Vec::new(),
        children: Vec::new(),
    }
}

/// Names the namespaces of an element and its attributes, and refuses duplicate attributes.
fn resolve(e: &mut Element, mut attrs: Vec<Attr>) -> Result<(), XmlError> {
    e.ns = if e.prefix.is_empty() {
        e.ns_of("").unwrap_or_default().to_owned()
    } else {
        e.ns_of(&e.prefix)
            .ok_or_else(|| err(format!("prefix {} is not declared", e.prefix)))?
            .to_owned()
    };
    for a in &mut attrs {
        if !a.prefix.is_empty() {
            a.ns = e
                .ns_of(&a.prefix)
                .ok_or_else(|| err(format!("prefix {} is not declared", a.prefix)))?
                .to_owned();
        }
    }
    for (i, a) in attrs.iter().enumerate() {
        if attrs[..i].iter().any(|b| b.ns == a.ns && b.local == a.local) {
            return Err(err(format!("attribute {} appears twice", a.local)));
        }
    }
    e.attrs = attrs;
    Ok(())
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, e: Element) -> Result<(), XmlError> {
    if stack.len() == 1 {
        *root = Some(e);
    } else if let Some(parent) = stack.last_mut() {
        parent.children.push(Node::Element(e));
    }
    Ok(())
}

fn push_text(stack: &mut [Element], text: String) -> Result<(), XmlError> {
    if stack.len() == 1 {
        if text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
            return Ok(());
        }
        return Err(err("text outside the root element"));
    }
    if let Some(parent) = stack.last_mut() {
        match parent.children.last_mut() {
            Some(Node::Text(t)) => t.push_str(&text),
            _ => parent.children.push(Node::Text(text)),
        }
    }
    Ok(())
}

fn normalise_line_ends(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Character data with its references replaced. In an attribute value, literal whitespace
/// becomes a space, as XML's attribute-value normalisation says (a character reference does
/// not).
fn unescape(raw: &str, attribute: bool) -> Result<String, XmlError> {
    let raw = normalise_line_ends(raw);
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '&' {
            let end = rest.find(';').ok_or_else(|| err("unterminated reference"))?;
            let name = &rest[1..end];
            let ch = match name {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) = name.strip_prefix("#x") {
                        u32::from_str_radix(hex, 16).ok()
                    } else if let Some(dec) = name.strip_prefix('#') {
                        dec.parse().ok()
                    } else {
                        return Err(err(format!("unknown entity &{name};")));
                    };
                    code.and_then(char::from_u32)
                        .ok_or_else(|| err(format!("bad character reference &{name};")))?
                }
            };
            out.push(ch);
            rest = &rest[end + 1..];
        } else {
            out.push(if attribute && matches!(c, '\t' | '\n') {
                ' '
            } else {
                c
            });
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_prefixes_and_references_are_kept() {
        let doc = parse(
            "<?xml version=\"1.0\"?>\n<a:r xmlns:a=\"urn:a\" xmlns=\"urn:d\" x=\"1&#10;2\ty\"><c a:k=\"&lt;\">t&amp;u<![CDATA[<v>]]></c><e xmlns=\"\"/></a:r>",
        )
        .unwrap();
        assert_eq!((doc.prefix.as_str(), doc.ns.as_str()), ("a", "urn:a"));
        assert_eq!(doc.attr("x"), Some("1\n2 y"));
        let c = doc.elements().next().unwrap();
        assert_eq!(c.ns, "urn:d");
        assert_eq!(c.attrs[0].ns, "urn:a");
        assert_eq!(c.attrs[0].value, "<");
        assert_eq!(c.text(), "t&u<v>");
        let e = doc.elements().nth(1).unwrap();
        assert_eq!(e.ns, "");
    }

    #[test]
    fn dtds_entities_and_malformed_documents_are_refused() {
        for bad in [
            "<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>",
            "<r>&x;</r>",
            "<r><a></r>",
            "<p:r/>",
            "<r a=\"1\" a=\"2\"/>",
            "<r/><s/>",
            "text",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(&deep).is_err());
    }
}
