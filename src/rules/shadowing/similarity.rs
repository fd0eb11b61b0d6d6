//! Lexical similarity of tool descriptions across one session: TF-IDF vectors over normalised
//! words and word pairs, an inverted index that finds every near-duplicate pair without
//! comparing all pairs, and the containment of one description in another. It measures texts;
//! deciding what a similarity means is the session audit's job.

use crate::rules::normalize::normalize;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Cosine at or above which two descriptions "match" for name rules and promoted copies.
pub const MATCHING_COSINE: f32 = 0.50;
/// Share of the shorter description's weighted content words found in the other at or above
/// which the shorter one is "contained".
pub const CONTAINED_SHARE: f32 = 0.80;
/// Fewest distinct content words a description needs before containment means anything.
pub const MIN_CONTAINED_WORDS: usize = 3;
/// Cosine at or above which two descriptions are near copies.
pub const DUPLICATE_COSINE: f32 = 0.80;
/// Fewest distinct content words each of two near copies needs: short descriptions ("Navigate
/// to a URL") are shared by honest servers that do the same job.
pub const MIN_DUPLICATE_WORDS: usize = 8;
/// Cosine at or above which two descriptions are the same text, near enough.
pub const COPY_COSINE: f32 = 0.95;
/// Fewest distinct content words each of two same texts needs: the closer the copy, the
/// shorter the text that is no longer a chance match.
pub const MIN_COPY_WORDS: usize = 5;

/// Words that carry no meaning of their own in a tool description.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "but", "by", "can", "do", "does", "each", "e", "eg", "for", "from", "g", "has",
    "have", "i", "ie", "if", "in", "into", "is", "it", "its", "may", "more", "no", "not", "of",
    "on", "one", "only", "or", "other", "our", "out", "over", "per", "so", "some", "such", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to",
    "tool", "tools", "up", "use", "used", "uses", "using", "via", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "will", "with", "within", "without", "would", "you",
    "your",
];

/// A feature posting of a document: which document, and its weight there.
type Posting = (u32, f32);

/// One description as vectors.
#[derive(Debug, Default)]
struct Vectors {
    /// Words and word pairs, TF-IDF weighted, unit length, sorted by feature.
    features: Vec<Posting>,
    /// Distinct words with their IDF, sorted by feature; for containment.
    words: Vec<Posting>,
    words_weight: f32,
}

/// How alike two descriptions are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Likeness {
    pub cosine: f32,
    /// The share of the shorter description's weighted words found in the longer one.
    pub containment: f32,
}

/// The descriptions of a session, indexed.
pub struct DescriptionIndex {
    docs: Vec<Vectors>,
    normalized: Vec<String>,
    /// For each feature, the documents holding it and their unit-vector weight.
    postings: Vec<Vec<Posting>>,
}

impl DescriptionIndex {
    pub fn new(texts: &[&str]) -> Self {
        let normalized: Vec<String> = texts.par_iter().map(|t| normalize(t)).collect();
        // Features are cut in parallel, then numbered in one pass.
        let features: Vec<Vec<(String, bool)>> = normalized
            .par_iter()
            .map(|text| {
                let words = content_words(text);
                let pairs = words
                    .windows(2)
                    .map(|p| (format!("{} {}", p[0], p[1]), false));
                words
                    .iter()
                    .map(|w| ((*w).to_string(), true))
                    .chain(pairs)
                    .collect()
            })
            .collect();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut counts: Vec<Vec<(u32, u32, bool)>> = Vec::with_capacity(texts.len());
        for doc in features {
            let mut tf: HashMap<u32, (u32, bool)> = HashMap::new();
            for (feature, word) in doc {
                let next = ids.len() as u32;
                let id = *ids.entry(feature).or_insert(next);
                tf.entry(id).or_insert((0, word)).0 += 1;
            }
            counts.push(tf.into_iter().map(|(id, (n, w))| (id, n, w)).collect());
        }
        let mut df = vec![0u32; ids.len()];
        for doc in &counts {
            for (id, _, _) in doc {
                df[*id as usize] += 1;
            }
        }
        let total = counts.len() as f32;
        let idf = |id: u32| ((1.0 + total) / (1.0 + df[id as usize] as f32)).ln() + 1.0;
        let docs: Vec<Vectors> = counts
            .iter()
            .map(|doc| {
                let mut features: Vec<Posting> = doc
                    .iter()
                    .map(|&(id, n, _)| (id, (1.0 + (n as f32).ln()) * idf(id)))
                    .collect();
                let norm = features.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
                if norm > 0.0 {
                    features.iter_mut().for_each(|(_, w)| *w /= norm);
                }
                features.sort_by_key(|(id, _)| *id);
                let mut words: Vec<Posting> = doc
                    .iter()
                    .filter(|(_, _, word)| *word)
                    .map(|&(id, _, _)| (id, idf(id)))
                    .collect();
                words.sort_by_key(|(id, _)| *id);
                let words_weight = words.iter().map(|(_, w)| w).sum();
                Vectors {
                    features,
                    words,
                    words_weight,
                }
            })
            .collect();
        let mut postings: Vec<Vec<Posting>> = vec![Vec::new(); ids.len()];
        for (doc, vectors) in docs.iter().enumerate() {
            for &(id, weight) in &vectors.features {
                postings[id as usize].push((doc as u32, weight));
            }
        }
        DescriptionIndex {
            docs,
            normalized,
            postings,
        }
    }

    /// Distinct content words of description `doc`.
    pub fn word_count(&self, doc: usize) -> usize {
        self.docs[doc].words.len()
    }

    pub fn likeness(&self, a: usize, b: usize) -> Likeness {
        let (x, y) = (&self.docs[a], &self.docs[b]);
        let cosine = merge(&x.features, &y.features)
            .map(|(wa, wb)| wa * wb)
            .sum();
        let (inner, outer) = if x.words.len() <= y.words.len() {
            (x, y)
        } else {
            (y, x)
        };
        let shared: f32 = merge(&inner.words, &outer.words).map(|(w, _)| w).sum();
        let containment = if inner.words.len() >= MIN_CONTAINED_WORDS && inner.words_weight > 0.0 {
            shared / inner.words_weight
        } else {
            0.0
        };
        Likeness {
            cosine,
            containment,
        }
    }

    /// Whether descriptions `a` and `b` say the same thing: equal, a cosine of at least
    /// `MATCHING_COSINE`, or the shorter contained in the longer. Empty ones never match.
    pub fn matching(&self, a: usize, b: usize) -> Option<Likeness> {
        if self.docs[a].words.is_empty() || self.docs[b].words.is_empty() {
            return None;
        }
        let likeness = self.likeness(a, b);
        let same = self.normalized[a] == self.normalized[b];
        (same || likeness.cosine >= MATCHING_COSINE || likeness.containment >= CONTAINED_SHARE)
            .then_some(likeness)
    }

    /// Every description that matches `doc` (as `matching` says), `doc` excepted. Cosines are
    /// summed along the feature index and shared word weights along the word index, so only
    /// descriptions sharing a word with `doc` are ever looked at.
    pub fn matches_of(&self, doc: usize) -> Vec<(usize, Likeness)> {
        let this = &self.docs[doc];
        if this.words.is_empty() {
            return Vec::new();
        }
        let mut sums: HashMap<u32, (f32, f32)> = HashMap::new();
        for &(id, weight) in &this.features {
            for &(other, w) in &self.postings[id as usize] {
                sums.entry(other).or_default().0 += weight * w;
            }
        }
        for &(id, idf) in &this.words {
            for &(other, _) in &self.postings[id as usize] {
                sums.entry(other).or_default().1 += idf;
            }
        }
        let mut found: Vec<(usize, Likeness)> = sums
            .into_iter()
            .filter(|&(other, _)| other as usize != doc)
            .filter_map(|(other, (cosine, shared))| {
                let that = &self.docs[other as usize];
                // Word weights are IDFs, the same in both, so the shared weight is symmetric.
                let inner = if this.words.len() <= that.words.len() {
                    this
                } else {
                    that
                };
                let containment =
                    if inner.words.len() >= MIN_CONTAINED_WORDS && inner.words_weight > 0.0 {
                        shared / inner.words_weight
                    } else {
                        0.0
                    };
                let likeness = Likeness {
                    cosine,
                    containment,
                };
                (cosine >= MATCHING_COSINE || containment >= CONTAINED_SHARE)
                    .then_some((other as usize, likeness))
            })
            .collect();
        found.sort_by_key(|(other, _)| *other);
        found
    }

    /// Every pair of descriptions of different groups (servers) that are near copies: a cosine
    /// of at least `DUPLICATE_COSINE` with `MIN_DUPLICATE_WORDS` content words each, or of at
    /// least `COPY_COSINE` with `MIN_COPY_WORDS`; as `(a, b, cosine)` with `a < b`.
    ///
    /// Dot products are summed along the inverted index. Features held by very many documents
    /// (the commonest words) would make that quadratic, so they are left out of the sums; the
    /// weight a document puts on them bounds what they could add (Cauchy-Schwarz), and a pair
    /// whose partial sum plus that bound reaches the threshold is scored in full. No pair above
    /// the threshold is missed.
    pub fn near_duplicates(&self, group: &[usize]) -> Vec<(usize, usize, f32)> {
        let n = self.docs.len();
        let common_df = (n / 100).max(50);
        let common: Vec<bool> = self.postings.iter().map(|p| p.len() > common_df).collect();
        let eligible: Vec<bool> = (0..n)
            .map(|d| self.word_count(d) >= MIN_COPY_WORDS)
            .collect();
        let near_copy = |a: usize, b: usize, cosine: f32| {
            let words = self.word_count(a).min(self.word_count(b));
            cosine >= COPY_COSINE || (cosine >= DUPLICATE_COSINE && words >= MIN_DUPLICATE_WORDS)
        };
        let dropped: Vec<f32> = self
            .docs
            .iter()
            .map(|doc| {
                doc.features
                    .iter()
                    .filter(|(id, _)| common[*id as usize])
                    .map(|(_, w)| w * w)
                    .sum::<f32>()
                    .sqrt()
            })
            .collect();
        let mut pairs: Vec<(usize, usize, f32)> = (0..n)
            .into_par_iter()
            .filter(|&a| eligible[a])
            .map_init(
                || (vec![0.0f32; n], Vec::new()),
                |(sums, touched), a| {
                    for &(id, weight) in &self.docs[a].features {
                        if common[id as usize] {
                            continue;
                        }
                        for &(b, other) in &self.postings[id as usize] {
                            let b = b as usize;
                            if b <= a || !eligible[b] || group[b] == group[a] {
                                continue;
                            }
                            if sums[b] == 0.0 {
                                touched.push(b);
                            }
                            sums[b] += weight * other;
                        }
                    }
                    let mut found = Vec::new();
                    for b in touched.drain(..) {
                        let bound = sums[b] + dropped[a] * dropped[b];
                        sums[b] = 0.0;
                        if bound >= DUPLICATE_COSINE {
                            let cosine = self.likeness(a, b).cosine;
                            if near_copy(a, b, cosine) {
                                found.push((a, b, cosine));
                            }
                        }
                    }
                    found
                },
            )
            .flatten()
            .collect();
        // Pairs sharing only common features: possible only when both put most of their
        // weight on them.
        let heavy: Vec<usize> = (0..n)
            .filter(|&d| eligible[d] && dropped[d] >= DUPLICATE_COSINE)
            .collect();
        let known: HashSet<(usize, usize)> = pairs.iter().map(|p| (p.0, p.1)).collect();
        for (i, &a) in heavy.iter().enumerate() {
            for &b in &heavy[i + 1..] {
                if group[a] != group[b] && !known.contains(&(a, b)) {
                    let cosine = self.likeness(a, b).cosine;
                    if near_copy(a, b, cosine) {
                        pairs.push((a, b, cosine));
                    }
                }
            }
        }
        pairs.sort_by_key(|p| (p.0, p.1));
        pairs
    }
}

/// The words of a normalised text that carry meaning, in order.
fn content_words(normalized: &str) -> Vec<&str> {
    normalized
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 && !STOP_WORDS.contains(w))
        .collect()
}

/// The weights of features present in both sorted lists.
fn merge<'a>(a: &'a [Posting], b: &'a [Posting]) -> impl Iterator<Item = (f32, f32)> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let pair = (a[i].1, b[j].1);
                    i += 1;
                    j += 1;
                    return Some(pair);
                }
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &str = "Get historical stock prices for a given ticker symbol from the exchange \
        feed, including open, high, low, close and volume for each trading day";

    #[test]
    fn a_copied_description_is_a_near_duplicate_and_a_competitor_is_not() {
        let texts = [
            LONG,
            "Get historical stock prices for a given ticker symbol from the exchange feed, \
             including open, high, low, close and volume for every trading day.",
            "Create or update a single file in a GitHub repository",
            "Create or update a single file in a GitLab project",
        ];
        let index = DescriptionIndex::new(&texts);
        let pairs = index.near_duplicates(&[0, 1, 2, 3]);
        assert_eq!(pairs.len(), 1, "{pairs:?}");
        assert_eq!((pairs[0].0, pairs[0].1), (0, 1));
        let matches: Vec<usize> = index.matches_of(0).into_iter().map(|m| m.0).collect();
        assert_eq!(matches, [1]);
        assert!(index.likeness(2, 3).cosine < DUPLICATE_COSINE);
    }

    #[test]
    fn a_short_text_counts_only_as_an_exact_copy() {
        let index = DescriptionIndex::new(&[
            "A tool to execute the Google search and return the top results.",
            "A tool to execute the Google search and return the top results.",
            "Take a screenshot of the current page or a specific element",
            "Take a screenshot of the page or element.",
            "Navigate to a URL",
            "Navigate to a URL",
        ]);
        let pairs: Vec<(usize, usize)> = index
            .near_duplicates(&[0, 1, 2, 3, 4, 5])
            .into_iter()
            .map(|(a, b, _)| (a, b))
            .collect();
        assert_eq!(pairs, [(0, 1)]);
    }

    #[test]
    fn the_same_group_is_never_paired() {
        let index = DescriptionIndex::new(&[LONG, LONG]);
        assert!(index.near_duplicates(&[0, 0]).is_empty());
        assert_eq!(index.near_duplicates(&[0, 1]).len(), 1);
    }

    #[test]
    fn common_words_do_not_hide_a_pair() {
        // Enough documents that every word of the pair is "common" and skipped in the sums.
        let mut texts = vec![LONG; 120];
        texts.push("Something else entirely about weather forecasts and rain");
        let group: Vec<usize> = (0..texts.len()).collect();
        let index = DescriptionIndex::new(&texts);
        assert_eq!(index.near_duplicates(&group).len(), 120 * 119 / 2);
    }

    #[test]
    fn a_short_description_is_contained_in_its_padded_copy() {
        let index = DescriptionIndex::new(&[
            "Search for places using Google Places API",
            "Get places search results using Google Places API. This is the advanced version \
             with superior location processing capabilities for restaurants and hotels.",
            "Navigate to a URL",
            "Navigate to a URL in the browser, then wait for the page to load.",
            "",
        ]);
        let likeness = index.matching(0, 1).expect("contained");
        assert!(likeness.containment >= CONTAINED_SHARE);
        let found = index.matches_of(0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 1);
        assert!((found[0].1.containment - likeness.containment).abs() < 1e-4);
        assert!((found[0].1.cosine - likeness.cosine).abs() < 1e-4);
        // Two content words are too few to say anything.
        assert_eq!(index.likeness(2, 3).containment, 0.0);
        assert!(index.matching(4, 4).is_none());
    }
}
