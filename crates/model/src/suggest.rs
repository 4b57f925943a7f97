//! "Did you mean" suggestions.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
#[must_use]
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.chars().count().max(word.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Whether `a` is at most `limit` edits from `b`. The lengths alone settle most pairs (the
/// distance is at least their difference); short ASCII pairs, the usual keys, are compared
/// in two rows on the stack and given up as soon as a row exceeds `limit`.
#[must_use]
pub fn within(a: &str, b: &str, limit: usize) -> bool {
    const SHORT: usize = 32;
    if a.chars().count().abs_diff(b.chars().count()) > limit {
        return false;
    }
    if !(a.is_ascii() && b.is_ascii() && b.len() < SHORT) {
        return distance(a, b) <= limit;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev = [0usize; SHORT];
    let mut cur = [0usize; SHORT];
    for (j, cell) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut best = cur[0];
        for (j, &cb) in b.iter().enumerate() {
            let cell = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            cur[j + 1] = cell;
            best = best.min(cell);
        }
        if best > limit {
            return false;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] <= limit
}

/// Levenshtein distance over Unicode scalar values.
#[must_use]
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_case_slips() {
        let keys = ["enabled", "allowWithoutVerification", "captchaEnabled"];
        assert_eq!(closest("enabeld", &keys), Some("enabled"));
        assert_eq!(closest("captchaenabled", &keys), Some("captchaEnabled"));
        assert_eq!(closest("something", &keys), None);
    }

    #[test]
    fn within_agrees_with_distance() {
        let words = [
            "",
            "a",
            "secret",
            "secert",
            "sceret",
            "existingSecret",
            "token",
            "tokens",
            "schlüssel",
            "schlussel",
            "a_key_name_longer_than_the_stack_rows",
            "a_key_name_longer_than_the_stack_row",
        ];
        for a in words {
            for b in words {
                for limit in 0..4 {
                    assert_eq!(
                        within(a, b, limit),
                        distance(a, b) <= limit,
                        "{a} {b} {limit}"
                    );
                }
            }
        }
    }
}
