//! Logical IDs derived from construct paths.
//!
//! The scheme is the AWS CDK's, so IDs read the same to anyone who knows it and stay stable
//! across unrelated edits: the path's human part (ids with non-alphanumerics removed, `Default`
//! dropped, `Resource` dropped from the human part, consecutive repeats folded) followed by the
//! first 8 hex digits of the MD5 of the full path. A resource directly under the stack keeps
//! its id as is, so hand-written templates migrate without renames.

use md5::{Digest, Md5};

/// The id a construct takes to be left out of paths' human and hashed parts alike.
pub const HIDDEN_ID: &str = "Default";
/// The id left out of the human part only (conventional for a construct's main resource).
pub const HIDDEN_FROM_HUMAN_ID: &str = "Resource";
/// CloudFormation's limit on a logical ID's length.
pub const MAX_LEN: usize = 255;
const HASH_LEN: usize = 8;
const MAX_HUMAN_LEN: usize = 240;

/// Derives the logical ID for a construct from its path components below the stack.
///
/// Returns `None` when nothing alphanumeric is left to name it.
///
/// ```
/// use cfn_core::logical_id::from_path;
/// assert_eq!(from_path(&["Bucket"]).as_deref(), Some("Bucket"));
/// let id = from_path(&["Database", "Cluster"]).unwrap();
/// assert!(id.starts_with("DatabaseCluster") && id.len() == "DatabaseCluster".len() + 8);
/// ```
pub fn from_path(components: &[&str]) -> Option<String> {
    let components: Vec<&str> = components
        .iter()
        .copied()
        .filter(|c| *c != HIDDEN_ID)
        .collect();
    if components.is_empty() {
        return None;
    }
    if components.len() == 1 {
        let candidate = alphanumeric(components[0]);
        if candidate.is_empty() {
            return None;
        }
        if candidate.len() <= MAX_LEN {
            return Some(candidate);
        }
    }
    let hash = path_hash(&components);
    let mut human = String::new();
    let mut last: Option<&str> = None;
    for c in &components {
        // Fold `Cluster/Cluster`-style repeats: a component the previous one already ends with.
        if last.is_some_and(|l| l.ends_with(c)) {
            continue;
        }
        last = Some(c);
        if *c != HIDDEN_FROM_HUMAN_ID {
            human.push_str(&alphanumeric(c));
        }
    }
    human.truncate(MAX_HUMAN_LEN);
    Some(human + &hash)
}

/// Whether `id` is acceptable as a logical ID (non-empty, ASCII alphanumeric, ≤ 255).
pub fn is_valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn alphanumeric(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

fn path_hash(components: &[&str]) -> String {
    let digest = Md5::digest(components.join("/").as_bytes());
    let mut hex = String::with_capacity(HASH_LEN);
    for b in digest.iter().take(HASH_LEN / 2) {
        hex.push_str(&format!("{b:02X}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn top_level_ids_are_kept() {
        assert_eq!(from_path(&["My-Bucket_1"]).as_deref(), Some("MyBucket1"));
        assert_eq!(from_path(&["Default", "Queue"]).as_deref(), Some("Queue"));
    }

    #[test]
    fn nested_ids_get_a_hash_of_the_full_path() {
        let a = from_path(&["Database", "Cluster"]).unwrap_or_default();
        // md5("Database/Cluster") starts with these 8 hex digits (computed independently).
        assert_eq!(
            a,
            format!("DatabaseCluster{}", path_hash(&["Database", "Cluster"]))
        );
        // `Resource` leaves the human part but not the hash.
        let r = from_path(&["Database", "Resource"]).unwrap_or_default();
        assert!(r.starts_with("Database") && r.len() == 16);
        assert_ne!(r[8..], path_hash(&["Database"]));
        // A repeated id is folded in the human part.
        let d = from_path(&["Cache", "Cache", "Group"]).unwrap_or_default();
        assert!(d.starts_with("CacheGroup"), "{d}");
    }

    #[test]
    fn hash_is_the_cdk_md5_prefix() {
        // Values from Python's hashlib, independent of this code: the CDK computes the same.
        assert_eq!(path_hash(&["A", "B"]), "E649FC2C");
        assert_eq!(
            from_path(&["Database", "Cluster"]).as_deref(),
            Some("DatabaseClusterC6094C50")
        );
    }

    #[test]
    fn nothing_alphanumeric_is_no_id() {
        assert_eq!(from_path(&["--"]), None);
        assert_eq!(from_path(&["Default"]), None);
    }

    #[test]
    fn long_paths_stay_within_the_limit() {
        let long = "x".repeat(300);
        let id = from_path(&[&long]).unwrap_or_default();
        assert_eq!(id.len(), MAX_HUMAN_LEN + HASH_LEN);
        assert!(is_valid(&id));
    }

    proptest! {
        #[test]
        fn ids_are_valid_and_deterministic(parts in proptest::collection::vec("[A-Za-z0-9_-]{1,20}", 1..6)) {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            if let Some(id) = from_path(&refs) {
                prop_assert!(is_valid(&id));
                prop_assert_eq!(Some(id), from_path(&refs));
            }
        }

        #[test]
        fn different_nested_paths_get_different_ids(a in "[A-Za-z]{1,8}", b in "[A-Za-z]{1,8}", c in "[A-Za-z]{1,8}") {
            prop_assume!(b != c);
            prop_assert_ne!(from_path(&[&a, &b]), from_path(&[&a, &c]));
        }
    }
}
