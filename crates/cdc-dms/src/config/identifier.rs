//! The replication task identifier of a source.
//!
//! DMS's rules: 1–255 characters; ASCII letters, digits and hyphens; the first a letter; no
//! trailing hyphen; no two consecutive hyphens. DMS stores identifiers in lower case, so two ids
//! differing only in case name the same task.
//!
//! A `source_id` (letters, digits, `_`, `.`, `-`) maps to an identifier deterministically:
//! - an id that already follows the rules in lower case is used as it is;
//! - otherwise it is lower-cased, `_` and `.` become `-`, runs of hyphens collapse to one,
//!   leading and trailing hyphens go, `cdc-` is put in front when it does not start with a
//!   letter, and `-h` plus 8 hex digits of a hash of the original id is appended. The hash keeps
//!   `orders_db`, `orders.db` and `Orders-DB` apart (they would otherwise all be `orders-db`),
//!   so one source never adopts another source's task.
//!
//! An id without a single letter or digit has no identifier: that is an error.

/// Longest identifier DMS accepts.
pub const MAX_TASK_IDENTIFIER_LEN: usize = 255;

/// The task identifier for `source_id`, or why there is none.
pub fn task_identifier(source_id: &str) -> Result<String, String> {
    if let Some(c) = source_id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "{source_id:?} contains {c:?}, which cannot be mapped to a DMS task identifier"
        ));
    }
    if !source_id.chars().any(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{source_id:?} has no letter or digit; a DMS task identifier needs at least one"
        ));
    }
    if is_valid_identifier(source_id) && !source_id.chars().any(|c| c.is_ascii_uppercase()) {
        return Ok(source_id.to_owned());
    }

    let mut id = String::with_capacity(source_id.len() + 16);
    for c in source_id.chars() {
        let c = match c {
            '_' | '.' => '-',
            c => c.to_ascii_lowercase(),
        };
        if c == '-' && (id.is_empty() || id.ends_with('-')) {
            continue;
        }
        id.push(c);
    }
    while id.ends_with('-') {
        id.pop();
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert_str(0, "cdc-");
    }
    let suffix = format!("-h{:08x}", fnv1a32(source_id.as_bytes()));
    id.truncate(MAX_TASK_IDENTIFIER_LEN - suffix.len());
    while id.ends_with('-') {
        id.pop();
    }
    id.push_str(&suffix);
    debug_assert!(is_valid_identifier(&id), "{id}");
    Ok(id)
}

/// Whether `id` follows DMS's identifier rules.
pub fn is_valid_identifier(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_TASK_IDENTIFIER_LEN
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--")
}

/// FNV-1a, 32 bits: stable across Rust versions and platforms (unlike `DefaultHasher`).
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_lower_case_ids_are_kept() {
        for id in ["orders", "orders-db", "a", "a1-b2-c3"] {
            assert_eq!(task_identifier(id).unwrap(), id);
        }
    }

    #[test]
    fn other_ids_are_mapped_deterministically_and_kept_apart() {
        let ids = [
            "orders_db",
            "orders.db",
            "Orders-DB",
            "orders--db",
            "1orders",
            "-orders",
            "orders-",
            "_",
        ];
        let mut seen = std::collections::HashSet::new();
        for id in ids.iter().take(7) {
            let mapped = task_identifier(id).unwrap();
            assert!(is_valid_identifier(&mapped), "{id} -> {mapped}");
            assert_eq!(task_identifier(id).unwrap(), mapped, "not deterministic");
            assert!(seen.insert(mapped.clone()), "{id} collides: {mapped}");
        }
        assert!(
            task_identifier("orders_db")
                .unwrap()
                .starts_with("orders-db-h")
        );
        assert!(
            task_identifier("1orders")
                .unwrap()
                .starts_with("cdc-1orders-h")
        );
        assert!(task_identifier("_").is_err());
        assert!(task_identifier("--..__").is_err());
        assert!(task_identifier("a b").is_err());
    }

    #[test]
    fn long_ids_fit() {
        let long = format!("X{}", "y_".repeat(200));
        let mapped = task_identifier(&long).unwrap();
        assert!(mapped.len() <= MAX_TASK_IDENTIFIER_LEN);
        assert!(is_valid_identifier(&mapped));
    }

    #[test]
    fn rules() {
        for bad in ["", "1a", "a-", "a--b", "a_b", &"a".repeat(256)] {
            assert!(!is_valid_identifier(bad), "{bad}");
        }
    }
}
