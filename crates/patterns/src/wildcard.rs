//! `wildcard` patterns: `*` matches any run of characters, `\*` and `\\` are literal.
//!
//! Validation mirrors AWS: consecutive `*` and stray backslashes are refused with the byte
//! position AWS reports (AWS counts from an opening quote, hence the `+ 1`), and patterns whose
//! matching automaton could keep too many states alive at once are refused as "too complex".

use std::collections::{BTreeSet, HashSet};

/// A compiled wildcard: literal pieces that lie between the stars.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Wildcard {
    /// Literal pieces; `pieces.len() == stars + 1`.
    pieces: Vec<Vec<u8>>,
}

pub(crate) const TOO_COMPLEX: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

/// Above this many simultaneously live automaton states AWS refuses a rule. The exact figure is
/// not documented; this value accepts every pattern AWS was recorded accepting and refuses the
/// recorded `*:*:*:*:*:event-bus/*`.
const COMPLEXITY_LIMIT: usize = 10;

/// One step of a wildcard: a literal byte or a star.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Byte(u8),
    Star,
}

fn tokens(pattern: &str) -> Result<Vec<Token>, String> {
    let bytes = pattern.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'*' => {
                if bytes.get(i + 1) == Some(&b'*') {
                    return Err(format!("Consecutive wildcard characters at pos {}", i + 1));
                }
                out.push(Token::Star);
            }
            b'\\' => match bytes.get(i + 1) {
                Some(&next @ (b'*' | b'\\')) => {
                    out.push(Token::Byte(next));
                    i += 1;
                }
                _ => return Err(format!("Invalid escape character at pos {}", i + 1)),
            },
            b => out.push(Token::Byte(b)),
        }
        i += 1;
    }
    Ok(out)
}

impl Wildcard {
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        let mut pieces = vec![Vec::new()];
        for t in tokens(pattern)? {
            match t {
                Token::Star => pieces.push(Vec::new()),
                Token::Byte(b) => {
                    if let Some(last) = pieces.last_mut() {
                        last.push(b);
                    }
                }
            }
        }
        Ok(Wildcard { pieces })
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let text = text.as_bytes();
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        if !text.starts_with(first) {
            return false;
        }
        let Some((last, middle)) = rest.split_last() else {
            return text.len() == first.len();
        };
        let mut pos = first.len();
        // Leftmost placement of each middle piece is optimal: stars absorb the gaps.
        for piece in middle {
            match find(&text[pos..], piece) {
                Some(at) => pos += at + piece.len(),
                None => return false,
            }
        }
        text.len() - pos >= last.len() && text.ends_with(last)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Refuses a set of wildcard patterns on one field when, for some input, more than
/// [`COMPLEXITY_LIMIT`] of their automaton states past a star could be live at once.
///
/// States before the first star are deterministic and never counted; the quotes AWS wraps
/// around string values are part of the automaton, so they are part of ours.
pub(crate) fn check_complexity(patterns: &[&str]) -> Result<(), String> {
    let automata: Vec<Vec<Token>> = patterns
        .iter()
        .filter_map(|p| tokens(p).ok())
        .map(|mut t| {
            t.insert(0, Token::Byte(b'"'));
            t.push(Token::Byte(b'"'));
            t
        })
        .collect();
    if !automata.iter().any(|a| a.contains(&Token::Star)) {
        return Ok(());
    }
    let alphabet: BTreeSet<u8> = automata
        .iter()
        .flatten()
        .filter_map(|t| match t {
            Token::Byte(b) => Some(*b),
            Token::Star => None,
        })
        .collect();
    // A byte no pattern mentions stands for all such bytes.
    let other = (0u8..=255).find(|b| !alphabet.contains(b));
    let inputs: Vec<Option<u8>> = alphabet.iter().map(|b| Some(*b)).chain([other]).collect();

    type State = (usize, usize); // (pattern, tokens consumed)
    let closure = |set: &mut BTreeSet<State>| {
        // A star may match nothing, so being before a star means being after it too.
        let mut stack: Vec<State> = set.iter().copied().collect();
        while let Some((p, i)) = stack.pop() {
            if automata[p].get(i) == Some(&Token::Star) && set.insert((p, i + 1)) {
                stack.push((p, i + 1));
            }
        }
    };
    let live_after_star = |set: &BTreeSet<State>| {
        set.iter()
            .filter(|(p, i)| automata[*p][..*i].contains(&Token::Star))
            .count()
    };

    let mut start: BTreeSet<State> = (0..automata.len()).map(|p| (p, 0)).collect();
    closure(&mut start);
    let mut seen: HashSet<Vec<State>> = HashSet::new();
    let mut pending = vec![start];
    // The subset walk is bounded so that validation time stays small whatever the input.
    let mut budget = 20_000;
    while let Some(set) = pending.pop() {
        if live_after_star(&set) > COMPLEXITY_LIMIT {
            return Err(TOO_COMPLEX.to_string());
        }
        budget -= 1;
        if budget == 0 {
            break;
        }
        for input in &inputs {
            let mut next = BTreeSet::new();
            for &(p, i) in &set {
                match (automata[p].get(i), input) {
                    (Some(Token::Star), _) => {
                        next.insert((p, i));
                    }
                    (Some(Token::Byte(b)), Some(x)) if b == x => {
                        next.insert((p, i + 1));
                    }
                    _ => {}
                }
            }
            closure(&mut next);
            if next.is_empty() {
                continue;
            }
            let key: Vec<State> = next.iter().copied().collect();
            if seen.insert(key) {
                pending.push(next);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Wildcard::parse(p).unwrap().matches(t)
    }

    #[test]
    fn aws_doc_examples() {
        assert!(m("*.png", "dir/image.png"));
        assert!(m("dir/*.png", "dir/a/b.png"));
        assert!(m("*/dir/*", "a/dir/b"));
        assert!(!m("*/dir/*", "dir/init/file"));
        assert!(m(
            "arn:aws:events:us-east-1:*:event-bus/*",
            "arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"
        ));
        assert!(m("/Users/*/doc.txt", "/Users/u/dir/dir/doc.txt"));
        assert!(!m("/Users/*/doc.txt", "/Users/u/notmatchingdoc.txt.bak"));
        assert!(m("a*a", "aa"));
        assert!(!m("a*a", "a"));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("*", ""));
    }

    #[test]
    fn escapes() {
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        assert!(m(r"a\\*", r"a\bc"));
        assert_eq!(
            Wildcard::parse(r"a\b").unwrap_err(),
            "Invalid escape character at pos 2"
        );
    }

    #[test]
    fn validation_matches_aws() {
        assert_eq!(
            Wildcard::parse("arn:aws:events:us-east-1:**:event-bus/*").unwrap_err(),
            "Consecutive wildcard characters at pos 26"
        );
        assert_eq!(
            check_complexity(&["*:*:*:*:*:event-bus/*"]).unwrap_err(),
            TOO_COMPLEX
        );
        assert!(check_complexity(&["arn:aws:events:us-east-1:*:event-bus/*"]).is_ok());
        assert!(check_complexity(&["/Users/*/dir/dir/dir/dir/dir/doc.txt"]).is_ok());
        assert!(check_complexity(&["/Users/*/doc.txt"]).is_ok());
    }
}
