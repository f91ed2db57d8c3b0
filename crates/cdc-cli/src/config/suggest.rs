//! "Did you mean ...?" for unknown keys and names.

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Up to a third of the word (at least 2), but never the whole word: `c` suggests nothing.
    let n = word.chars().count();
    let limit = (n / 3).max(2).min(n.saturating_sub(1));
    candidates
        .into_iter()
        .map(|c| {
            (
                edit_distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` or nothing.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment),
/// so `stauts` is nearer to `status` than to `start`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let keys = ["source_id", "tables", "actions", "steps"];
        assert_eq!(closest("tabels", keys), Some("tables"));
        assert_eq!(closest("sourceid", keys), Some("source_id"));
        assert_eq!(closest("colour", keys), None);
        assert_eq!(hint("acions", keys), "; did you mean `actions`?");
        assert_eq!(hint("zzz", keys), "");
        let steps = ["step.cdc_start", "step.cdc_status"];
        assert_eq!(closest("step.cdc_stauts", steps), Some("step.cdc_status"));
    }
}
