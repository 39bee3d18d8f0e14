//! Maven versions with the semantics of Maven's `ComparableVersion`.
//!
//! A version is lower-cased and split into items: numbers, qualifier strings, and
//! sub-lists. `.` separates items in a list; `-` and a switch between digits and letters
//! start a nested list (`1-1` and `1a1` nest, `1.1` does not); a qualifier after a `.` at
//! the end is treated like one after `-` (`1.0.0.x == 1.0.0-x`). Trailing "null" items
//! (`0`, `""`, `ga`, `final`, `release`) are dropped, so `1.0.0 == 1 == 1-ga`.
//!
//! Known qualifiers order `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final
//! = release < sp`; `a`, `b`, `m` directly followed by a number mean alpha, beta,
//! milestone. Unknown qualifiers sort after all known ones, alphabetically. Numbers beat
//! qualifiers and lists; lists beat qualifiers — except where Maven's own answers form a
//! cycle (see [`compare_lists`]). Maven 3.9's newer "combination" handling (`alpha-1`
//! read as `alpha1`) is not reproduced; both spellings still sort sensibly.

use std::cmp::Ordering;

use super::Number;

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// Rank of the empty qualifier (a release) in [`QUALIFIERS`].
const RELEASE_RANK: usize = 5;

#[derive(Clone, Debug)]
enum Item {
    Int(Number),
    Str(String),
    List(Vec<Item>),
}

#[derive(Clone, Debug)]
pub struct MavenVersion {
    items: Vec<Item>,
}

fn qualifier_item(text: &str, followed_by_digit: bool) -> Item {
    let expanded = match (text, followed_by_digit) {
        ("a", true) => "alpha",
        ("b", true) => "beta",
        ("m", true) => "milestone",
        _ => text,
    };
    let canonical = match expanded {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(canonical.to_string())
}

fn parse_item(text: &str, digits: bool) -> Item {
    if digits {
        Item::Int(Number::new(text))
    } else {
        qualifier_item(text, false)
    }
}

/// Comparable key of a qualifier: its rank among the known ones, or after all of them.
fn qualifier_key(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(rank) => (rank, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Int(n) => n.is_zero(),
        Item::Str(s) => s.is_empty(),
        Item::List(l) => l.is_empty(),
    }
}

/// Drops trailing null items, looking past non-null sub-lists (Maven's `normalize`).
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if is_null(&list[i]) {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

impl MavenVersion {
    pub fn parse(input: &str) -> Result<MavenVersion, String> {
        let version = input.trim().to_lowercase();
        if version.chars().any(char::is_whitespace) {
            return Err("contains whitespace".into());
        }
        // `levels[k + 1]` is the last item of `levels[k]`; built innermost-first at the end.
        let mut levels: Vec<Vec<Item>> = vec![Vec::new()];
        let chars: Vec<char> = version.chars().collect();
        let mut digits = false;
        let mut start = 0;
        let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
        for (i, &c) in chars.iter().enumerate() {
            let list = levels.len() - 1;
            if c == '.' || c == '-' {
                let item = if i == start {
                    Item::Int(Number::new("0"))
                } else {
                    parse_item(&text(start, i), digits)
                };
                levels[list].push(item);
                start = i + 1;
                if c == '-' {
                    levels.push(Vec::new());
                }
            } else if c.is_ascii_digit() {
                if !digits && i > start {
                    levels[list].push(qualifier_item(&text(start, i), true));
                    start = i;
                    levels.push(Vec::new());
                }
                digits = true;
            } else {
                if digits && i > start {
                    levels[list].push(parse_item(&text(start, i), true));
                    start = i;
                    levels.push(Vec::new());
                }
                digits = false;
            }
        }
        if chars.len() > start {
            let list = levels.len() - 1;
            // `1.0.0.x` is read as `1.0.0-x`.
            if !digits && !levels[list].is_empty() {
                levels.push(Vec::new());
            }
            let list = levels.len() - 1;
            levels[list].push(parse_item(&text(start, chars.len()), digits));
        }
        let mut inner: Option<Vec<Item>> = None;
        while let Some(mut level) = levels.pop() {
            if let Some(child) = inner.take() {
                level.push(Item::List(child));
            }
            normalize(&mut level);
            inner = Some(level);
        }
        Ok(MavenVersion {
            items: inner.unwrap_or_default(),
        })
    }
}

/// How an item compares with nothing (Maven's `compareTo(null)`): a number above zero
/// or a qualifier after the release is greater, `alpha`…`snapshot` less; a list by its
/// first item that is not null.
fn against_nothing(item: &Item) -> Ordering {
    match item {
        Item::Int(n) if n.is_zero() => Ordering::Equal,
        Item::Int(_) => Ordering::Greater,
        Item::Str(s) => qualifier_key(s).cmp(&(RELEASE_RANK, "")),
        Item::List(l) => sign(l),
    }
}

/// How the rest of a list, from some item on, compares with nothing.
fn sign(items: &[Item]) -> Ordering {
    items
        .iter()
        .map(against_nothing)
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Maven's precedence between item kinds: number > list > qualifier.
fn kind_rank(item: &Item) -> u8 {
    match item {
        Item::Str(_) => 0,
        Item::List(_) => 1,
        Item::Int(_) => 2,
    }
}

/// Compares two lists item by item, padding the shorter with nothing.
///
/// Items of one kind compare as Maven's do. Items of different kinds compare by kind
/// as in Maven *unless* the two remainders fall on different sides of "nothing": then
/// that side decides. Maven itself decides by kind alone, which is not an order:
/// `1.$-SNAPSHOT < 1.0-alpha-1 < 1 < 1.$-SNAPSHOT` (each step as Maven answers it;
/// found by fuzzing). With the side first, the answer is a total order — needed
/// because ranges are sorted — and differs from Maven only for such mixed versions.
fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    match (a.split_first(), b.split_first()) {
        (None, None) => Ordering::Equal,
        (Some(_), None) => sign(a),
        (None, Some(_)) => sign(b).reverse(),
        (Some((x, rest_a)), Some((y, rest_b))) => {
            let by_item = match (x, y) {
                (Item::Int(x), Item::Int(y)) => x.cmp(y),
                (Item::Str(x), Item::Str(y)) => qualifier_key(x).cmp(&qualifier_key(y)),
                (Item::List(x), Item::List(y)) => compare_lists(x, y),
                _ => sign(a)
                    .cmp(&sign(b))
                    .then_with(|| kind_rank(x).cmp(&kind_rank(y))),
            };
            by_item.then_with(|| compare_lists(rest_a, rest_b))
        }
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

#[cfg(test)]
mod tests {
    use crate::version::Scheme;
    use std::cmp::Ordering::{self, *};

    fn cmp(a: &str, b: &str) -> Ordering {
        Scheme::Maven.compare(a, b).unwrap()
    }

    fn assert_chain(chain: &[&str]) {
        for (i, a) in chain.iter().enumerate() {
            for b in &chain[i + 1..] {
                assert_eq!(cmp(a, b), Less, "{a} < {b}");
                assert_eq!(cmp(b, a), Greater, "{b} > {a}");
            }
        }
    }

    #[test]
    fn a_list_against_nothing_looks_past_its_first_item() {
        // Found by the `versions` fuzz target: with only the first item compared,
        // `-0.*alpha-1` equalled `0.0` while sorting on either side of `é0-SNAPSHOT`.
        assert_eq!(cmp("-0.*alpha-1", "0.0"), Greater);
        assert_eq!(cmp("\u{c9}0-SNAPSHOT", "0.0"), Greater);
        assert_eq!(cmp("1-0.alpha", "1"), Less);
    }

    #[test]
    fn mixed_kinds_on_either_side_of_nothing_still_form_an_order() {
        // Maven answers each pair by kind and gets a cycle; the side of "nothing" the
        // rest falls on decides here, so each chain sorts one way.
        assert_chain(&["1.0-alpha-1", "1", "1.$-SNAPSHOT"]);
        assert_chain(&["1.0.alpha.1", "1", "1-1"]);
        assert_chain(&["1-alpha", "1", "1.sp.1"]);
        // Same side: kind decides, as in Maven (`2-1 < 2.0.2`, `1.x.2 < 1-1`).
        assert_chain(&["2-1", "2.0.2"]);
        assert_chain(&["1.x.2", "1-1"]);
    }

    #[test]
    fn qualifier_chain() {
        assert_chain(&[
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
        ]);
    }

    #[test]
    fn number_chain() {
        assert_chain(&[
            "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
            "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11",
            "11", "11.a", "11b", "11c", "11m",
        ]);
    }

    #[test]
    fn equalities() {
        let equal = [
            ("1", "1.0.0"),
            ("1", "1-0"),
            ("1", "1.ga"),
            ("1", "1-ga"),
            ("1", "1.final"),
            ("1", "1.RELEASE"),
            ("2.0.0.Final", "2.0.0"),
            ("1-rc1", "1-cr1"),
            ("1a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1-milestone-3"),
            ("1.0-alpha1", "1.0-ALPHA1"),
            ("1x", "1-x"),
        ];
        for (a, b) in equal {
            assert_eq!(cmp(a, b), Equal, "{a} == {b}");
        }
    }

    #[test]
    fn vectors() {
        let cases = [
            ("2.13.4", "2.13.4.2", Less),
            ("2.9.10.8", "2.10.0", Less),
            ("5.3.18", "5.3.2", Greater),
            ("1.0-SNAPSHOT", "1.0", Less),
            ("1.0.0.RC1", "1.0.0", Less),
            ("2.15.0-rc1", "2.15.0", Less),
            ("2.17.1", "2.15.0", Greater),
            ("1.2.3.redhat-00001", "1.2.3", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
