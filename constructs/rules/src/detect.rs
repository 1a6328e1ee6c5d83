//! Heuristics for secrets: names that say "secret" and values that look like one.
//!
//! Names are split into words (`DB_PASSWORD`, `dbPassword`, `/dify/db/password` all give
//! `password`). A name is secret-looking when a word is `password`, `passwd`, `pwd`,
//! `passphrase`, `secret`, `token`, `credential(s)`, `key`, `apikey`, `privatekey` or
//! `accesskey` — unless its last word says it names something about a secret rather than the
//! secret itself (`…_KEY_ID`, `…_SECRET_ARN`, `…_TOKEN_EXPIRE_MINUTES`, `…_PASSWORD_FILE`).
//!
//! Values are secret-looking when they contain an AWS access key ID (`AKIA…`/`ASIA…`), an API
//! key with a well-known prefix (`sk-…`, `ghp_…`, `xoxb-…`, `glpat-…`), a PEM private key, a URL
//! with a password (`scheme://user:pass@host`), or a long high-entropy token: at least 32
//! characters of base64/base62 alphabet with upper case, lower case and digits and at least 4.2
//! bits of entropy per character. Pure hex strings (commit hashes, digests, UUIDs) are left to
//! the name check: they are keys as often as they are not.

/// Words that make a name secret-looking.
const SECRET_WORDS: [&str; 14] = [
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "credential",
    "credentials",
    "key",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
];

/// Last words that make a name about a secret rather than the secret itself.
const ABOUT_WORDS: [&str; 22] = [
    "id",
    "arn",
    "name",
    "file",
    "path",
    "dir",
    "expire",
    "expires",
    "expiry",
    "minutes",
    "hours",
    "days",
    "seconds",
    "ttl",
    "length",
    "size",
    "enabled",
    "type",
    "prefix",
    "header",
    "region",
    "algorithm",
];

/// The words of a name: split at anything not alphanumeric and at lower-to-upper case changes,
/// lower-cased.
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a name (environment variable, parameter, SSM parameter path) says it holds a secret.
pub(crate) fn secret_name(name: &str) -> bool {
    let w = words(name);
    let Some(last) = w.last() else {
        return false;
    };
    if w.len() > 1 && ABOUT_WORDS.contains(&last.as_str()) {
        return false;
    }
    w.iter().any(|x| SECRET_WORDS.contains(&x.as_str()))
}

/// Why a value looks like a secret, or `None`.
pub(crate) fn secret_value(text: &str) -> Option<&'static str> {
    if let Some(why) = known_prefix(text) {
        return Some(why);
    }
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY") {
        return Some("holds a PEM private key");
    }
    if url_with_password(text) {
        return Some("is a URL with a password in it");
    }
    if text
        .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-".contains(c)))
        .any(high_entropy)
    {
        return Some("holds a long high-entropy string, like a generated key");
    }
    None
}

/// Whether `text` contains an access key ID or a key with a well-known prefix.
fn known_prefix(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    for (i, _) in text.char_indices() {
        let rest = &text[i..];
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if (rest.starts_with("AKIA") || rest.starts_with("ASIA"))
            && rest.len() >= 20
            && rest.as_bytes()[4..20]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Some("holds an AWS access key ID");
        }
        if !boundary {
            continue;
        }
        for (prefix, min) in [
            ("sk-", 20),
            ("ghp_", 30),
            ("gho_", 30),
            ("github_pat_", 30),
            ("glpat-", 20),
            ("xoxb-", 20),
            ("xoxp-", 20),
        ] {
            if let Some(tail) = rest.strip_prefix(prefix) {
                let n = tail
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
                    .count();
                if n >= min {
                    return Some("holds an API key (a well-known key prefix)");
                }
            }
        }
    }
    None
}

/// `scheme://user:password@host` with a non-empty password.
fn url_with_password(text: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority = after
            .split(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .next()
            .unwrap_or("");
        if let Some(at) = authority.rfind('@')
            && let Some((_, password)) = authority[..at].split_once(':')
            && !password.is_empty()
        {
            return true;
        }
        rest = after;
    }
    false
}

/// A token long and random enough to be a generated secret.
fn high_entropy(token: &str) -> bool {
    let token = token.trim_matches(|c| c == '-' || c == '_' || c == '=');
    if token.len() < 32 {
        return false;
    }
    let upper = token.bytes().any(|c| c.is_ascii_uppercase());
    let lower = token.bytes().any(|c| c.is_ascii_lowercase());
    let digit = token.bytes().any(|c| c.is_ascii_digit());
    if !(upper && lower && digit) {
        return false;
    }
    entropy(token) >= 4.2
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words() {
        assert_eq!(words("DB_PASSWORD"), ["db", "password"]);
        assert_eq!(words("dbPassword"), ["db", "password"]);
        assert_eq!(
            words("/dify/dev/db/password"),
            ["dify", "dev", "db", "password"]
        );
        assert_eq!(words("SecretKey2"), ["secret", "key2"]);
    }

    #[test]
    fn secret_names() {
        for n in [
            "DB_PASSWORD",
            "SECRET_KEY",
            "PLUGIN_DAEMON_KEY",
            "REDIS_AUTH_TOKEN",
            "DbPassword",
            "/dify/dev/secret_key",
            "OPENAI_APIKEY",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "DB_HOST",
            "KMS_KEY_ID",
            "SECRET_ARN",
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            "DB_PASSWORD_FILE",
            "MONKEY",
            "TOKENIZER",
            "KEY_PREFIX",
        ] {
            assert!(!secret_name(n), "{n}");
        }
    }

    #[test]
    fn padding_is_not_length() {
        // Thirty random characters: one short of a generated secret, however padded.
        let t = "Zq8rT4wLp2Xv9NcB7yHs3KdM6fJa1U";
        assert!(high_entropy(&format!("{t}eG")), "32 random characters are");
        for pad in ["==", "__", "--", "-=", "_="] {
            assert!(!high_entropy(&format!("{t}{pad}")), "{t}{pad}");
            assert!(!high_entropy(&format!("{pad}{t}")), "{pad}{t}");
        }
    }

    #[test]
    fn secret_values() {
        for v in [
            "AKIAIOSFODNN7EXAMPLE",
            "sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZyXwVu",
            "Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "rediss://:hunter2@cache:6379/0",
            "postgresql://dify:{unknown}@db:5432/dify",
            "Zq8rT4wLp2Xv9NcB7yHs3KdM6fJa1UeG",
            "-----BEGIN RSA PRIVATE KEY-----\nMII...",
        ] {
            assert!(secret_value(v).is_some(), "{v}");
        }
        for v in [
            "https://dify.example.com",
            "http://user@host:8080/x",
            "rediss://:@cache:6379",
            "0123456789abcdef0123456789abcdef01234567",
            "123e4567-e89b-12d3-a456-426614174000",
            "/etc/ssl/certs/ca-certificates.crt",
            "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "langgenius/dify-api:1.13.3",
            "ThisIsALongCamelCaseIdentifierWithoutDigits",
            "acl localnet src 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7",
            "PLUGIN_STORAGE_OSS_BUCKET_NAME_FOR_DIFY_2024_EDITION",
        ] {
            assert_eq!(secret_value(v), None, "{v}");
        }
    }
}
