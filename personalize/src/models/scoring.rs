//! Pure recommendation scoring: popularity, co-occurrence and trend over the interactions seen, deterministic for a given input.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::catalog::Scoring;

/// One interaction as the scorer sees it (an item interaction or an action interaction).
/// Borrowed from the data side's records, so scoring copies no strings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Event<'a> {
    /// Who.
    pub(crate) user_id: &'a str,
    /// Which item (or action).
    pub(crate) item_id: &'a str,
    /// When, epoch seconds.
    pub(crate) timestamp: f64,
    /// `EVENT_TYPE` (empty when the dataset has none).
    pub(crate) event_type: &'a str,
}

/// A ranked candidate: id and score (scores sum to 1 over all candidates for the
/// personalized scorers; other scorers rank by counts and the runtime omits their scores).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ranked {
    /// Item or action id.
    pub(crate) id: String,
    /// Score, rounded to 7 decimal places.
    pub(crate) score: f64,
}

/// What a request asks about.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Query<'a> {
    /// The user, when given.
    pub(crate) user_id: Option<&'a str>,
    /// The item, when given (related-items recipes).
    pub(crate) item_id: Option<&'a str>,
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Distinct users per item.
fn popularity<'a>(events: impl Iterator<Item = &'a Event<'a>>) -> HashMap<&'a str, f64> {
    let mut users: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for e in events {
        users.entry(e.item_id).or_default().insert(e.user_id);
    }
    users.into_iter().map(|(k, v)| (k, v.len() as f64)).collect()
}

/// Items per user.
fn histories<'a>(events: &[Event<'a>]) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let mut h: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in events {
        h.entry(e.user_id).or_default().insert(e.item_id);
    }
    h
}

/// For each item, how many other users share it with `anchor` weighted by overlap.
fn cooccurrence<'a>(
    hist: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    anchor: &BTreeSet<&str>,
    skip_user: Option<&str>,
) -> HashMap<&'a str, f64> {
    let mut out: HashMap<&str, f64> = HashMap::new();
    if anchor.is_empty() {
        return out;
    }
    for (user, items) in hist {
        if Some(*user) == skip_user {
            continue;
        }
        let overlap = items.iter().filter(|i| anchor.contains(*i)).count() as f64;
        if overlap > 0.0 {
            for i in items {
                *out.entry(*i).or_default() += overlap;
            }
        }
    }
    out
}

/// Sorts by key descending, then id ascending, and normalises the first key into a score.
fn finish(mut rows: Vec<(String, f64, f64)>) -> Vec<Ranked> {
    rows.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(b.2.total_cmp(&a.2))
            .then_with(|| a.0.cmp(&b.0))
    });
    let total: f64 = rows.iter().map(|r| r.1.max(0.0)).sum();
    rows.into_iter()
        .map(|(id, k, _)| Ranked {
            score: if total > 0.0 {
                round7(k.max(0.0) / total)
            } else {
                0.0
            },
            id,
        })
        .collect()
}

/// Ranks every candidate item for `q` under `scoring`. `catalog` holds the known item ids
/// (Items dataset); items seen only in interactions are candidates too. Exclusions: the
/// personalized scorer drops the user's own history, the similar-items scorers drop the
/// query item. Filters and `numResults` are applied by the caller.
pub(crate) fn rank_items(
    scoring: Scoring,
    events: &[Event],
    catalog: &BTreeSet<String>,
    q: Query<'_>,
) -> Vec<Ranked> {
    let mut candidates: BTreeSet<&str> = catalog.iter().map(String::as_str).collect();
    candidates.extend(events.iter().map(|e| e.item_id));
    let pop = popularity(events.iter());
    let p = |i: &str| pop.get(i).copied().unwrap_or(0.0);
    let rows: Vec<(String, f64, f64)> = match scoring {
        Scoring::Personalized | Scoring::Actions | Scoring::Segments => {
            let hist = histories(events);
            let empty = BTreeSet::new();
            let mine = q.user_id.and_then(|u| hist.get(u)).unwrap_or(&empty);
            let co = cooccurrence(&hist, mine, q.user_id);
            candidates
                .iter()
                .filter(|i| !mine.contains(*i))
                .map(|i| {
                    let c = co.get(i).copied().unwrap_or(0.0);
                    (i.to_string(), 1.0 + p(i) + 10.0 * c, p(i))
                })
                .collect()
        }
        Scoring::Popularity => candidates.iter().map(|i| (i.to_string(), p(i), 0.0)).collect(),
        Scoring::PopularityOf(ty) => {
            let typed = popularity(events.iter().filter(|e| e.event_type.eq_ignore_ascii_case(ty)));
            candidates
                .iter()
                .map(|i| (i.to_string(), typed.get(i).copied().unwrap_or(0.0), p(i)))
                .collect()
        }
        Scoring::Trending => {
            // Two consecutive windows ending at the newest interaction; the window is a
            // quarter of the span of the data, at least 30 minutes (the smallest trend
            // discovery frequency).
            let newest = events.iter().map(|e| e.timestamp).fold(f64::MIN, f64::max);
            let oldest = events.iter().map(|e| e.timestamp).fold(f64::MAX, f64::min);
            let w = ((newest - oldest) / 4.0).max(1800.0);
            let mut growth: HashMap<&str, f64> = HashMap::new();
            for e in events {
                if e.timestamp > newest - w {
                    *growth.entry(e.item_id).or_default() += 1.0;
                } else if e.timestamp > newest - 2.0 * w {
                    *growth.entry(e.item_id).or_default() -= 1.0;
                }
            }
            candidates
                .iter()
                .map(|i| (i.to_string(), growth.get(i).copied().unwrap_or(0.0), p(i)))
                .collect()
        }
        Scoring::Similar | Scoring::SimilarOf(_) => {
            let used: Vec<Event> = match scoring {
                Scoring::SimilarOf(ty) => events
                    .iter()
                    .filter(|e| e.event_type.eq_ignore_ascii_case(ty))
                    .copied()
                    .collect(),
                _ => events.to_vec(),
            };
            let hist = histories(&used);
            let anchor: BTreeSet<&str> = q.item_id.into_iter().collect();
            let co = cooccurrence(&hist, &anchor, None);
            candidates
                .iter()
                .filter(|i| Some(**i) != q.item_id)
                .map(|i| (i.to_string(), co.get(i).copied().unwrap_or(0.0), p(i)))
                .collect()
        }
    };
    finish(rows)
}

/// Reranks `input` for `user` (GetPersonalizedRanking): the personalized score of every
/// listed item, history included, duplicates dropped, scores normalised over the list.
pub(crate) fn rank_list(events: &[Event<'_>], user: &str, input: &[String]) -> Vec<Ranked> {
    let hist = histories(events);
    let empty = BTreeSet::new();
    let mine = hist.get(user).unwrap_or(&empty);
    let co = cooccurrence(&hist, mine, Some(user));
    let pop = popularity(events.iter());
    let mut seen = BTreeSet::new();
    let rows = input
        .iter()
        .filter(|i| seen.insert(i.as_str()))
        .map(|i| {
            let p = pop.get(i.as_str()).copied().unwrap_or(0.0);
            let c = co.get(i.as_str()).copied().unwrap_or(0.0);
            (i.clone(), 1.0 + p + 10.0 * c, p)
        })
        .collect();
    finish(rows)
}

/// Ranks actions for `user` (Next-Best-Action): propensity `(taken + 1) / (taken + other + 2)`
/// over distinct users, 0.0 for actions nobody interacted with yet; actions the user
/// already took are dropped.
pub(crate) fn rank_actions(
    events: &[Event<'_>],
    actions: &BTreeSet<String>,
    user: Option<&str>,
) -> Vec<Ranked> {
    let mut candidates: BTreeSet<&str> = actions.iter().map(String::as_str).collect();
    candidates.extend(events.iter().map(|e| e.item_id));
    let taken_by = |e: &Event<'_>| e.event_type.eq_ignore_ascii_case("TAKEN");
    let taken = popularity(events.iter().filter(|e| taken_by(e)));
    let other = popularity(events.iter().filter(|e| !taken_by(e)));
    let mine: BTreeSet<&str> = events
        .iter()
        .filter(|e| Some(e.user_id) == user && taken_by(e))
        .map(|e| e.item_id)
        .collect();
    let mut rows: Vec<Ranked> = candidates
        .into_iter()
        .filter(|a| !mine.contains(a))
        .map(|a| {
            let t = taken.get(a).copied().unwrap_or(0.0);
            let o = other.get(a).copied().unwrap_or(0.0);
            let score = if t + o == 0.0 {
                0.0
            } else {
                round7((t + 1.0) / (t + o + 2.0))
            };
            Ranked {
                id: a.to_string(),
                score,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(u: &'a str, i: &'a str, t: f64, ty: &'a str) -> Event<'a> {
        Event {
            user_id: u,
            item_id: i,
            timestamp: t,
            event_type: ty,
        }
    }

    fn data() -> Vec<Event<'static>> {
        vec![
            ev("u1", "a", 1.0, "View"),
            ev("u1", "b", 2.0, "View"),
            ev("u2", "a", 3.0, "View"),
            ev("u2", "b", 4.0, "Purchase"),
            ev("u2", "c", 5.0, "Purchase"),
            ev("u3", "a", 6.0, "View"),
            ev("u3", "d", 7.0, "View"),
            ev("u4", "c", 8.0, "Purchase"),
        ]
    }

    fn ids(r: &[Ranked]) -> Vec<&str> {
        r.iter().map(|x| x.id.as_str()).collect()
    }

    #[test]
    fn personalized_excludes_history_and_uses_cooccurrence() {
        let catalog: BTreeSet<String> = ["e".to_string()].into();
        let r = rank_items(
            Scoring::Personalized,
            &data(),
            &catalog,
            Query {
                user_id: Some("u1"),
                item_id: None,
            },
        );
        // u1 saw a, b. u2 shares a and b (overlap 2) -> c gets 20; u3 shares a -> d gets 10.
        assert_eq!(ids(&r), vec!["c", "d", "e"]);
        let sum: f64 = r.iter().map(|x| x.score).sum();
        assert!((sum - 1.0).abs() < 1e-6);
        assert!(r[0].score > r[1].score && r[1].score > r[2].score && r[2].score > 0.0);
        // Deterministic.
        assert_eq!(
            r,
            rank_items(
                Scoring::Personalized,
                &data(),
                &catalog,
                Query {
                    user_id: Some("u1"),
                    item_id: None
                }
            )
        );
    }

    #[test]
    fn unknown_user_gets_popular_items_ties_by_id() {
        let r = rank_items(
            Scoring::Personalized,
            &data(),
            &BTreeSet::new(),
            Query {
                user_id: Some("nobody"),
                item_id: None,
            },
        );
        assert_eq!(ids(&r), vec!["a", "b", "c", "d"]);
        let r = rank_items(
            Scoring::Popularity,
            &data(),
            &BTreeSet::new(),
            Query {
                user_id: Some("u1"),
                item_id: None,
            },
        );
        assert_eq!(ids(&r), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn popularity_of_an_event_type() {
        let r = rank_items(
            Scoring::PopularityOf("Purchase"),
            &data(),
            &BTreeSet::new(),
            Query::default(),
        );
        assert_eq!(ids(&r), vec!["c", "b", "a", "d"]);
    }

    #[test]
    fn similar_items_by_cooccurrence() {
        let r = rank_items(
            Scoring::Similar,
            &data(),
            &BTreeSet::new(),
            Query {
                user_id: None,
                item_id: Some("c"),
            },
        );
        // c was seen by u2 (a, b) and u4; a and b each co-occur once, a is more popular.
        assert_eq!(ids(&r), vec!["a", "b", "d"]);
        let r = rank_items(
            Scoring::SimilarOf("Purchase"),
            &data(),
            &BTreeSet::new(),
            Query {
                user_id: None,
                item_id: Some("c"),
            },
        );
        assert_eq!(ids(&r)[0], "b");
        // Unknown item: popular items.
        let r = rank_items(
            Scoring::Similar,
            &data(),
            &BTreeSet::new(),
            Query {
                user_id: None,
                item_id: Some("zz"),
            },
        );
        assert_eq!(ids(&r), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn trending_prefers_growth() {
        let day = 86_400.0;
        let olds: Vec<String> = (0..5).map(|k| format!("o{k}")).collect();
        let news: Vec<String> = (0..3).map(|k| format!("n{k}")).collect();
        let mut evs = vec![];
        for u in &olds {
            evs.push(ev(u, "old", 0.0, ""));
        }
        for u in &news {
            evs.push(ev(u, "new", 4.0 * day, ""));
        }
        evs.push(ev("x", "old", 4.0 * day, ""));
        let r = rank_items(Scoring::Trending, &evs, &BTreeSet::new(), Query::default());
        assert_eq!(ids(&r), vec!["new", "old"]);
    }

    #[test]
    fn ranking_keeps_the_input_and_dedups() {
        let input: Vec<String> = ["d", "c", "zz", "c", "a"].iter().map(|s| s.to_string()).collect();
        let r = rank_list(&data(), "u1", &input);
        assert_eq!(ids(&r), vec!["a", "c", "d", "zz"]);
        let sum: f64 = r.iter().map(|x| x.score).sum();
        assert!((sum - 1.0).abs() < 1e-6);
    }

    #[test]
    fn actions_by_propensity() {
        let evs = vec![
            ev("u1", "loyalty", 1.0, "TAKEN"),
            ev("u2", "loyalty", 1.0, "TAKEN"),
            ev("u3", "app", 1.0, "NOT_TAKEN"),
            ev("u3", "app", 2.0, "TAKEN"),
        ];
        let actions: BTreeSet<String> = ["card".to_string(), "app".to_string()].into();
        let r = rank_actions(&evs, &actions, Some("u1"));
        assert_eq!(ids(&r), vec!["app", "card"]);
        assert_eq!(r[1].score, 0.0);
        let r = rank_actions(&evs, &actions, Some("new"));
        assert_eq!(ids(&r), vec!["loyalty", "app", "card"]);
        assert_eq!(r[0].score, 0.75);
    }
}
