//! Unit tests of filter expressions: parsing, the rules checked at creation, evaluation.

use super::*;

#[test]
fn parses_the_documented_examples() {
    let ok = [
        r#"EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)"#,
        r#"EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")"#,
        r#"INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")"#,
        r#"EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)"#,
        r#"INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE"#,
        r#"EXCLUDE ItemID WHERE Items.CATEGORY_L1 IN ("shoe") AND Items.CATEGORY_L2 NOT IN ("boot")"#,
        r#"INCLUDE ItemID WHERE Items.PRICE <= $PRICE"#,
        r#"EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE"#,
        r#"INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)"#,
        r#"EXCLUDE UserID WHERE Users.AGE < $AGE"#,
        r#"INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) | INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("favorite")"#,
        r#"include ItemID where (Items.A IN ("x") OR Items.A IN ("y")) and Items.B > -1.5"#,
        r#"EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("TAKEN")"#,
    ];
    for e in ok {
        parse(e).unwrap_or_else(|err| panic!("{e}: {err}"));
    }
    let p = parse(r#"EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE"#).unwrap();
    assert_eq!(p.params(), vec!["GENRE".to_string(), "AGE".to_string()]);
}

#[test]
fn rejects_bad_syntax_with_a_reason() {
    let bad: &[(&str, &str)] = &[
        ("", "empty"),
        ("KEEP ItemID WHERE Items.A IN (\"x\")", "INCLUDE or EXCLUDE"),
        (
            "INCLUDE Things WHERE Items.A IN (\"x\")",
            "ItemID, UserID or ActionID",
        ),
        ("INCLUDE ItemID Items.A IN (\"x\")", "Expected WHERE"),
        ("INCLUDE ItemID WHERE Items A IN (\"x\")", "'.'"),
        ("INCLUDE ItemID WHERE Items.A LIKE (\"x\")", "Expected IN, NOT IN"),
        ("INCLUDE ItemID WHERE Items.A IN (\"x\"", "')'"),
        ("INCLUDE ItemID WHERE Items.A IN \"x\"", "parentheses"),
        ("INCLUDE ItemID WHERE Items.A IN (\"x)", "closing quote"),
        ("INCLUDE ItemID WHERE Items.A IN ($)", "parameter name"),
        ("INCLUDE ItemID WHERE Stuff.A IN (\"x\")", "Unknown dataset"),
        ("INCLUDE ItemID WHERE CurrentUser.A IN (\"x\")", "IF condition"),
        (
            "INCLUDE ItemID WHERE Items.A IN (\"x\") IF Items.B = 1",
            "only test CurrentUser",
        ),
        (
            "INCLUDE ItemID WHERE Items.A IN (\"x\") extra",
            "Unexpected 'extra'",
        ),
        ("INCLUDE ItemID WHERE Items.A IN (\"x\") |", "INCLUDE or EXCLUDE"),
        ("INCLUDE ItemID WHERE Items.A = ", "Expected a value"),
        ("INCLUDE ItemID WHERE Items.A = 1.2.3", "not a number"),
        ("INCLUDE ItemID WHERE Items.A # 1", "Unexpected character"),
    ];
    for (e, want) in bad {
        let err = parse(e).unwrap_err();
        assert!(err.message.contains(want), "{e}: {}", err.message);
        assert!(err.message.starts_with("Filter expression is not valid."));
    }
}

#[test]
fn filter_values_parse_as_lists() {
    assert_eq!(
        parse_filter_value("G", r#""comedy", "drama""#).unwrap(),
        vec![Scalar::S("comedy".into()), Scalar::S("drama".into())]
    );
    assert_eq!(parse_filter_value("P", "10").unwrap(), vec![Scalar::N(10.0)]);
    assert!(parse_filter_value("G", r#""a" "b""#).is_err());
    assert!(parse_filter_value("G", r#""a"#).is_err());
}

#[test]
fn comparisons() {
    let s = |v: &str| Scalar::S(v.into());
    assert!(compare(Op::In, &[s("a"), s("b")], &[s("b")]));
    assert!(!compare(Op::NotIn, &[s("a"), s("b")], &[s("b")]));
    assert!(compare(Op::Lt, &[Scalar::N(1.0)], &[Scalar::N(2.0)]));
    assert!(compare(Op::Ge, &[Scalar::N(2.0)], &[s("2")]));
    assert!(!compare(Op::In, &[], &[s("b")]));
}
