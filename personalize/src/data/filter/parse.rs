//! The filter expression language: the lexer and the recursive-descent parser of the grammar in
//! the parent module's documentation, producing its [`Expr`].

use super::*;

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Param(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Dot,
    Pipe,
}

pub(super) fn syntax(detail: impl std::fmt::Display) -> Error {
    Error::invalid(format!("Filter expression is not valid. {detail}"))
}

fn lex(s: &str) -> Result<Vec<Tok>> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let at = |i: usize| chars.get(i).copied();
    while let Some(c) = at(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '.' if !at(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                out.push(Tok::Dot);
                i += 1;
            }
            '|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            '=' => {
                out.push(Tok::Op("="));
                i += 1;
            }
            '!' if at(i + 1) == Some('=') => {
                out.push(Tok::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                if at(i + 1) == Some('=') {
                    out.push(Tok::Op(if c == '<' { "<=" } else { ">=" }));
                    i += 2;
                } else {
                    out.push(Tok::Op(if c == '<' { "<" } else { ">" }));
                    i += 1;
                }
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match at(i) {
                        None => return Err(syntax("A string value is missing its closing quote.")),
                        Some('\\') if at(i + 1).is_some() => {
                            v.extend(at(i + 1));
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            '$' => {
                let start = i + 1;
                i = start;
                while at(i).is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                    i += 1;
                }
                if i == start {
                    return Err(syntax("A parameter name must follow '$'."));
                }
                out.push(Tok::Param(
                    chars.get(start..i).unwrap_or_default().iter().collect(),
                ));
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let start = i;
                i += 1;
                while at(i).is_some_and(|ch| ch.is_ascii_digit() || ch == '.' || ch == 'e' || ch == 'E') {
                    i += 1;
                }
                let text: String = chars.get(start..i).unwrap_or_default().iter().collect();
                let n: f64 = text
                    .parse()
                    .map_err(|_| syntax(format!("'{text}' is not a number.")))?;
                out.push(Tok::Num(n));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while at(i).is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                    i += 1;
                }
                out.push(Tok::Word(
                    chars.get(start..i).unwrap_or_default().iter().collect(),
                ));
            }
            other => return Err(syntax(format!("Unexpected character '{other}'."))),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn describe_tok(t: Option<&Tok>) -> String {
    match t {
        None => "the end of the expression".into(),
        Some(Tok::Word(w)) => format!("'{w}'"),
        Some(Tok::Str(s)) => format!("\"{s}\""),
        Some(Tok::Num(n)) => format!("{n}"),
        Some(Tok::Param(p)) => format!("${p}"),
        Some(Tok::Op(o)) => format!("'{o}'"),
        Some(Tok::LParen) => "'('".into(),
        Some(Tok::RParen) => "')'".into(),
        Some(Tok::Comma) => "','".into(),
        Some(Tok::Dot) => "'.'".into(),
        Some(Tok::Pipe) => "'|'".into(),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn expect_word(&mut self, w: &str) -> Result<()> {
        if self.peek_word(w) {
            self.pos += 1;
            Ok(())
        } else {
            Err(syntax(format!(
                "Expected {w} but found {}.",
                describe_tok(self.peek())
            )))
        }
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<()> {
        if self.peek() == Some(t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(syntax(format!(
                "Expected {what} but found {}.",
                describe_tok(self.peek())
            )))
        }
    }

    fn word(&mut self, what: &str) -> Result<String> {
        match self.next() {
            Some(Tok::Word(w)) => Ok(w),
            t => Err(syntax(format!(
                "Expected {what} but found {}.",
                describe_tok(t.as_ref())
            ))),
        }
    }

    fn filter(&mut self) -> Result<Expr> {
        let mut parts = vec![self.part()?];
        while self.peek() == Some(&Tok::Pipe) {
            self.pos += 1;
            parts.push(self.part()?);
        }
        if self.peek().is_some() {
            return Err(syntax(format!("Unexpected {}.", describe_tok(self.peek()))));
        }
        Ok(Expr { parts })
    }

    fn part(&mut self) -> Result<Part> {
        let action = self.word("INCLUDE or EXCLUDE")?;
        let include = if action.eq_ignore_ascii_case("INCLUDE") {
            true
        } else if action.eq_ignore_ascii_case("EXCLUDE") {
            false
        } else {
            return Err(syntax(format!(
                "Expected INCLUDE or EXCLUDE but found '{action}'."
            )));
        };
        let target = self.word("ItemID, UserID or ActionID")?;
        let target = match target.to_ascii_uppercase().as_str() {
            "ITEMID" => Target::Item,
            "USERID" => Target::User,
            "ACTIONID" => Target::Action,
            _ => {
                return Err(syntax(format!(
                    "Expected ItemID, UserID or ActionID but found '{target}'."
                )));
            }
        };
        self.expect_word("WHERE")?;
        let cond = self.or()?;
        let mut user_if = Vec::new();
        if self.peek_word("IF") {
            self.pos += 1;
            loop {
                let (scope, column) = self.column()?;
                if !scope.eq_ignore_ascii_case("CurrentUser") {
                    return Err(syntax(format!(
                        "IF conditions can only test CurrentUser, not '{scope}'."
                    )));
                }
                let (op, values) = self.test()?;
                user_if.push(Test {
                    dataset: DatasetType::Users,
                    column,
                    op,
                    values,
                });
                if self.peek_word("AND") {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        Ok(Part {
            include,
            target,
            cond,
            user_if,
        })
    }

    fn or(&mut self) -> Result<Cond> {
        let mut cs = vec![self.and()?];
        while self.peek_word("OR") {
            self.pos += 1;
            cs.push(self.and()?);
        }
        Ok(if cs.len() == 1 { cs.remove(0) } else { Cond::Or(cs) })
    }

    fn and(&mut self) -> Result<Cond> {
        let mut cs = vec![self.atom()?];
        while self.peek_word("AND") {
            self.pos += 1;
            cs.push(self.atom()?);
        }
        Ok(if cs.len() == 1 {
            cs.remove(0)
        } else {
            Cond::And(cs)
        })
    }

    fn atom(&mut self) -> Result<Cond> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let c = self.or()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(c);
        }
        let (scope, column) = self.column()?;
        let dataset = match scope.to_ascii_uppercase().as_str() {
            "ITEMS" => DatasetType::Items,
            "USERS" => DatasetType::Users,
            "INTERACTIONS" => DatasetType::Interactions,
            "ACTIONS" => DatasetType::Actions,
            "ACTION_INTERACTIONS" | "ACTIONINTERACTIONS" => DatasetType::ActionInteractions,
            "CURRENTUSER" => {
                return Err(syntax("CurrentUser can only be tested in an IF condition."));
            }
            _ => return Err(syntax(format!("Unknown dataset '{scope}'."))),
        };
        let (op, values) = self.test()?;
        Ok(Cond::Test(Test {
            dataset,
            column,
            op,
            values,
        }))
    }

    fn column(&mut self) -> Result<(String, String)> {
        let scope = self.word("a dataset name")?;
        self.expect(&Tok::Dot, "'.'")?;
        let column = self.word("a field name")?;
        Ok((scope, column))
    }

    fn test(&mut self) -> Result<(Op, Vec<Operand>)> {
        let op = match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IN") => Op::In,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NOT") => {
                self.expect_word("IN")?;
                Op::NotIn
            }
            Some(Tok::Op(o)) => match o {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                _ => Op::Ge,
            },
            t => {
                return Err(syntax(format!(
                    "Expected IN, NOT IN or a comparison operator but found {}.",
                    describe_tok(t.as_ref())
                )));
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            if self.peek() == Some(&Tok::LParen) {
                self.pos += 1;
                let mut vs = vec![self.value()?];
                while self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    vs.push(self.value()?);
                }
                self.expect(&Tok::RParen, "',' or ')'")?;
                vs
            } else {
                let v = self.value()?;
                if !matches!(v, Operand::Param(_) | Operand::CurrentItem(_)) {
                    return Err(syntax("The values after IN must be in parentheses."));
                }
                vec![v]
            }
        } else {
            vec![self.value()?]
        };
        Ok((op, values))
    }

    fn value(&mut self) -> Result<Operand> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Operand::Str(s)),
            Some(Tok::Num(n)) => Ok(Operand::Num(n)),
            Some(Tok::Param(p)) => Ok(Operand::Param(p)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("CurrentItem") => {
                self.expect(&Tok::Dot, "'.'")?;
                Ok(Operand::CurrentItem(self.word("a field name")?))
            }
            t => Err(syntax(format!(
                "Expected a value (a quoted string, a number or a $parameter) but found {}.",
                describe_tok(t.as_ref())
            ))),
        }
    }
}

/// Parses a filter expression (syntax only).
pub(crate) fn parse(expression: &str) -> Result<Expr> {
    let toks = lex(expression)?;
    if toks.is_empty() {
        return Err(syntax("The expression is empty."));
    }
    Parser { toks, pos: 0 }.filter()
}

// ---------------------------------------------------------------------------------------------
// Validation against the dataset group
// ---------------------------------------------------------------------------------------------
