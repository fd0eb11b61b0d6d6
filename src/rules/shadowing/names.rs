//! How the tool names of a session relate across servers: the same name, a confusable one, the
//! name with a "better version" word added, or one typo or word order away. Pairs are found
//! through hash maps of folded names, never by comparing all pairs. It says how names relate,
//! not how bad that is.

use super::inventory::{Inventory, SessionTool, name_words};
use crate::rules::normalize::identifier_words;
use std::collections::{BTreeMap, HashMap};

/// Words that claim a tool is a newer, better or more official version of another.
const QUALIFIERS: &[&str] = &[
    "new",
    "advanced",
    "enhanced",
    "improved",
    "upgraded",
    "updated",
    "latest",
    "optimized",
    "optimised",
    "pro",
    "professional",
    "premium",
    "plus",
    "ultimate",
    "official",
    "verified",
    "trusted",
    "certified",
    "original",
    "real",
    "true",
    "secure",
    "safe",
    "fast",
    "faster",
    "best",
    "better",
    "super",
    "smart",
    "prime",
    "max",
    "extra",
    "turbo",
    "elite",
    "fixed",
];

/// Folded names shorter than this are too short for "one typo away" to mean anything.
const MIN_SIMILAR_KEY: usize = 6;

/// Fewest words a name needs before the same words in another order count as imitation.
const MIN_REORDERED_WORDS: usize = 3;

/// How a suspect tool's name relates to another server's tool name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameRelation {
    /// The same string.
    Same,
    /// Equal once folded; `lookalike` when the suspect holds non-ASCII letters and the other
    /// does not.
    Confusable { lookalike: bool },
    /// The other's name with these qualifier words added.
    Affixed { added: Vec<String> },
    /// One edit apart once folded, or the same words reordered.
    Similar { reordered: bool },
}

/// Each (suspect tool, other tool) pair of different servers whose names relate, by tool
/// index, with the closest relation found. Symmetric relations are listed both ways.
pub fn related_names(inventory: &Inventory<'_>) -> BTreeMap<(usize, usize), NameRelation> {
    let tools = &inventory.tools;
    let mut related = BTreeMap::new();
    let mut note = |a: usize, b: usize, relation: NameRelation| {
        if tools[a].server == tools[b].server {
            return;
        }
        related
            .entry((a, b))
            .and_modify(|known: &mut NameRelation| {
                if relation < *known {
                    *known = relation.clone();
                }
            })
            .or_insert(relation);
    };

    let by_key = group(tools.iter().map(|t| t.key.clone()));
    for members in by_key.values() {
        for &a in members {
            for &b in members {
                if a == b {
                    continue;
                }
                let relation = if tools[a].name == tools[b].name {
                    NameRelation::Same
                } else {
                    NameRelation::Confusable {
                        lookalike: !tools[a].name.is_ascii() && tools[b].name.is_ascii(),
                    }
                };
                note(a, b, relation);
            }
        }
    }

    for (a, tool) in tools.iter().enumerate() {
        // Qualifiers are told by the words as written: folding reads the `1` of `v1` as `l`.
        let written = written_words(tool.name);
        let mut added = Vec::new();
        let mut base_key = String::new();
        for (i, folded) in tool.words.iter().enumerate() {
            let word = match written.len() == tool.words.len() {
                true => &written[i],
                false => folded,
            };
            match is_qualifier(word) {
                true => added.push(word.clone()),
                false => base_key.push_str(folded),
            }
        }
        if added.is_empty() || base_key.is_empty() {
            continue;
        }
        for &b in by_key.get(&base_key).into_iter().flatten() {
            let added = added.clone();
            note(a, b, NameRelation::Affixed { added });
        }
    }

    // Another server's name put before or after its tool's name (`github_fork_repository`
    // offered by a server that is not GitHub); a server's own name is its own brand.
    let brands: Vec<Vec<String>> = inventory
        .servers
        .iter()
        .map(|s| server_words(&s.capture.server))
        .collect();
    for (a, tool) in tools.iter().enumerate() {
        let (Some(first), Some(last)) = (tool.words.first(), tool.words.last()) else {
            continue;
        };
        if tool.words.len() < 2 {
            continue;
        }
        let ends = [
            (first, &tool.words[1..]),
            (last, &tool.words[..tool.words.len() - 1]),
        ];
        for (brand, rest) in ends {
            let base_key: String = rest.iter().map(String::as_str).collect();
            for &b in by_key.get(&base_key).into_iter().flatten() {
                let theirs = brands[tools[b].server].contains(brand);
                let ours = brands[tool.server].contains(brand);
                if theirs && !ours {
                    note(
                        a,
                        b,
                        NameRelation::Affixed {
                            added: vec![brand.clone()],
                        },
                    );
                }
            }
        }
    }

    // Two-word names are swapped by naming conventions (`list_pages`, `pages_list`).
    let by_order = group(tools.iter().map(|t| {
        let mut words = t.words.clone();
        words.sort();
        match words.len() >= MIN_REORDERED_WORDS {
            true => words.join(" "),
            false => String::new(),
        }
    }));
    for members in by_order.values() {
        for &a in members {
            for &b in members {
                if tools[a].key != tools[b].key {
                    note(a, b, NameRelation::Similar { reordered: true });
                }
            }
        }
    }

    // Two strings one edit apart share a string with one character deleted (or one is such a
    // deletion of the other); every candidate is then checked exactly.
    let mut by_deletion: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, tool) in tools.iter().enumerate() {
        if tool.key.chars().count() < MIN_SIMILAR_KEY {
            continue;
        }
        for variant in deletions(&tool.key) {
            by_deletion.entry(variant).or_default().push(index);
        }
        by_deletion.entry(tool.key.clone()).or_default().push(index);
    }
    for members in by_deletion.values() {
        for &a in members {
            for &b in members {
                if a < b && one_edit_apart(&tools[a], &tools[b]) {
                    note(a, b, NameRelation::Similar { reordered: false });
                    note(b, a, NameRelation::Similar { reordered: false });
                }
            }
        }
    }
    related
}

fn group(keys: impl Iterator<Item = String>) -> HashMap<String, Vec<usize>> {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, key) in keys.enumerate() {
        if !key.is_empty() {
            groups.entry(key).or_default().push(index);
        }
    }
    groups
}

/// A server's name as folded words, without the words every server name may carry.
fn server_words(name: &str) -> Vec<String> {
    name_words(name)
        .into_iter()
        .filter(|w| w.chars().count() >= 3 && !["mcp", "server", "servers"].contains(&w.as_str()))
        .collect()
}

/// The words of a name as written, lower-cased, one for each of `name_words`'s folded ones.
fn written_words(name: &str) -> Vec<String> {
    let spaced = identifier_words(name).unwrap_or_else(|| name.to_string());
    spaced
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn is_qualifier(word: &str) -> bool {
    QUALIFIERS.contains(&word)
        || (word.len() >= 2
            && word.starts_with('v')
            && word[1..].bytes().all(|b| b.is_ascii_digit()))
}

fn deletions(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    (0..chars.len())
        .map(|skip| {
            chars
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, c)| c)
                .collect()
        })
        .collect()
}

/// One insertion, deletion, substitution or swap of neighbours apart, and not a plural.
fn one_edit_apart(a: &SessionTool<'_>, b: &SessionTool<'_>) -> bool {
    let (x, y): (Vec<char>, Vec<char>) = (a.key.chars().collect(), b.key.chars().collect());
    if x == y || is_plural_of(&a.key, &b.key) || is_plural_of(&b.key, &a.key) {
        return false;
    }
    let (short, long) = if x.len() <= y.len() {
        (&x, &y)
    } else {
        (&y, &x)
    };
    match long.len() - short.len() {
        0 => {
            let differ: Vec<usize> = (0..x.len()).filter(|&i| x[i] != y[i]).collect();
            match differ.as_slice() {
                [_] => true,
                [i, j] => *j == i + 1 && x[*i] == y[*j] && x[*j] == y[*i],
                _ => false,
            }
        }
        1 => {
            let first = (0..short.len())
                .find(|&i| short[i] != long[i])
                .unwrap_or(short.len());
            short[first..] == long[first + 1..]
        }
        _ => false,
    }
}

fn is_plural_of(plural: &str, singular: &str) -> bool {
    plural
        .strip_prefix(singular)
        .is_some_and(|rest| rest == "s" || rest == "es")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Capture;
    use serde_json::json;

    fn relation(a: &str, b: &str) -> Option<NameRelation> {
        let captures = vec![
            Capture {
                server: "suspect".into(),
                tools: vec![json!({"name": a})],
                ..Capture::default()
            },
            Capture {
                server: "other".into(),
                tools: vec![json!({"name": b})],
                ..Capture::default()
            },
        ];
        let inventory = Inventory::new(&captures);
        related_names(&inventory).remove(&(0, 1))
    }

    #[test]
    fn tells_each_relation() {
        assert_eq!(relation("search", "search"), Some(NameRelation::Same));
        assert_eq!(
            relation("Fork_Repository", "fork_repository"),
            Some(NameRelation::Confusable { lookalike: false })
        );
        assert_eq!(
            relation("r\u{0435}ad_file", "read_file"),
            Some(NameRelation::Confusable { lookalike: true })
        );
        assert_eq!(
            relation("Playwright_Navigate_Advanced", "playwright_navigate"),
            Some(NameRelation::Affixed {
                added: vec!["advanced".into()]
            })
        );
        assert_eq!(
            relation("create_new_repository", "create_repository"),
            Some(NameRelation::Affixed {
                added: vec!["new".into()]
            })
        );
        assert_eq!(
            relation("search_v2", "search"),
            Some(NameRelation::Affixed {
                added: vec!["v2".into()]
            })
        );
        assert_eq!(
            relation("search_v1", "search"),
            Some(NameRelation::Affixed {
                added: vec!["v1".into()]
            })
        );
        assert_eq!(
            relation("searchV10", "search"),
            Some(NameRelation::Affixed {
                added: vec!["v10".into()]
            })
        );
        assert_eq!(
            relation("fork_repositroy", "fork_repository"),
            Some(NameRelation::Similar { reordered: false })
        );
        assert_eq!(
            relation("send_emal", "send_email"),
            Some(NameRelation::Similar { reordered: false })
        );
        assert_eq!(
            relation("repository_fork_create", "create_repository_fork"),
            Some(NameRelation::Similar { reordered: true })
        );
    }

    #[test]
    fn another_servers_name_before_its_tool_name_is_an_affix_and_ones_own_is_not() {
        let captures = vec![
            Capture {
                server: "github".into(),
                tools: vec![json!({"name": "fork_repository"})],
                ..Capture::default()
            },
            Capture {
                server: "helper".into(),
                tools: vec![json!({"name": "github_fork_repository"})],
                ..Capture::default()
            },
            Capture {
                server: "gitlab-mcp".into(),
                tools: vec![json!({"name": "gitlab_fork_repository"})],
                ..Capture::default()
            },
        ];
        let related = related_names(&Inventory::new(&captures));
        assert_eq!(
            related.get(&(1, 0)),
            Some(&NameRelation::Affixed {
                added: vec!["github".into()]
            })
        );
        assert!(!related.contains_key(&(2, 0)), "{related:?}");
    }

    #[test]
    fn leaves_honest_neighbours_alone() {
        assert_eq!(relation("get_issues", "get_issue"), None);
        assert_eq!(relation("search_nodes", "search_code"), None);
        assert_eq!(relation("browser_navigate", "puppeteer_navigate"), None);
        assert_eq!(relation("advanced_search", "search_web"), None);
        assert_eq!(relation("get", "set"), None);
        assert_eq!(relation("pages_list", "list_pages"), None);
    }

    #[test]
    fn the_affixed_name_is_the_suspect_not_the_original() {
        let captures = vec![
            Capture {
                server: "honest".into(),
                tools: vec![json!({"name": "search"})],
                ..Capture::default()
            },
            Capture {
                server: "copy".into(),
                tools: vec![json!({"name": "search_pro"})],
                ..Capture::default()
            },
        ];
        let related = related_names(&Inventory::new(&captures));
        assert!(related.contains_key(&(1, 0)));
        assert!(!related.contains_key(&(0, 1)));
    }
}
