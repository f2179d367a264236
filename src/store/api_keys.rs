//! API keys for programs using the HTTP API (CTI event stream, statistics).
//! Owns the `api_keys` table only: the secret is generated here and shown
//! once; only its SHA-256 is kept. Must not know about HTTP (the web module
//! decides which scope a route needs).

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{map_unique, unix_now, Store, StoreError};

/// Every scope a key may carry. `admin` implies the others (the web checks).
pub const API_SCOPES: &[&str] = &["events", "stats", "calls", "fax", "admin"];

/// Clear keys start with this, so a leaked one is recognisable in logs and
/// by secret scanners.
const KEY_PREFIX: &str = "sb_";
/// Characters of the clear key stored to identify it ("sb_" + 5).
const SHOWN_PREFIX_LEN: usize = 8;

/// A key as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub name: String,
    /// First characters of the clear key, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl ApiKey {
    /// Whether the key may use something needing `scope` (`admin` may use all).
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope || s == "admin")
    }
}

type Row = (String, String, String, i64, Option<i64>);
/// `Row` behind the id and stored hash.
type HashedRow = (i64, String, String, String, String, i64, Option<i64>);

fn from_row((name, prefix, scopes, created_at, last_used_at): Row) -> ApiKey {
    let scopes = scopes.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
    ApiKey { name, prefix, scopes, created_at, last_used_at }
}

fn hash_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without an early exit, so the time taken does not tell an
/// attacker how many leading characters of a stored hash they guessed.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Key names appear in lists, logs and CLI arguments: keep them plain.
pub fn check_api_key_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "API key name must be 1 to 64 letters, digits, '-', '_' or '.', got '{name}'"
        )))
    }
}

impl Store {
    /// Creates a key and returns the clear secret: the only time it exists
    /// outside the caller's hands. `scopes` must be non-empty and known.
    pub async fn create_api_key(&self, name: &str, scopes: &[String]) -> Result<String, StoreError> {
        check_api_key_name(name)?;
        if scopes.is_empty() {
            return Err(StoreError::Invalid(format!("at least one scope is needed ({})", API_SCOPES.join(", "))));
        }
        let mut clean: Vec<&str> = Vec::new();
        for s in scopes {
            let s = s.trim();
            if !API_SCOPES.contains(&s) {
                return Err(StoreError::Invalid(format!("unknown scope '{s}' (use {})", API_SCOPES.join(", "))));
            }
            if !clean.contains(&s) {
                clean.push(s);
            }
        }
        let secret: [u8; 32] = rand::random();
        let key = format!("{KEY_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
        sqlx::query("INSERT INTO api_keys (name, key_hash, key_prefix, scopes, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(name)
            .bind(hash_hex(&key))
            .bind(&key[..SHOWN_PREFIX_LEN])
            .bind(clean.join(","))
            .bind(unix_now())
            .execute(&self.writer)
            .await
            .map_err(|e| map_unique(e, &format!("API key {name}")))?;
        Ok(key)
    }

    /// The key's name and scopes when `key` is a valid clear key (and notes
    /// the use); `None` otherwise. Candidates are found by their public
    /// prefix, then the hashes are compared in constant time.
    pub async fn verify_api_key(&self, key: &str) -> Result<Option<ApiKey>, StoreError> {
        // `get` and not slicing: the key is request input and may end in the
        // middle of a multi-byte character.
        let Some(prefix) = key.get(..SHOWN_PREFIX_LEN) else {
            return Ok(None);
        };
        if !key.starts_with(KEY_PREFIX) || key.len() > 128 {
            return Ok(None);
        }
        let presented = hash_hex(key);
        let rows: Vec<HashedRow> = sqlx::query_as(
            "SELECT id, key_hash, name, key_prefix, scopes, created_at, last_used_at FROM api_keys WHERE key_prefix = ?",
        )
        .bind(prefix)
        .fetch_all(&self.pool)
        .await?;
        let mut found = None;
        for (id, hash, name, prefix, scopes, created, used) in rows {
            if constant_time_eq(hash.as_bytes(), presented.as_bytes()) {
                found = Some((id, from_row((name, prefix, scopes, created, used))));
            }
        }
        let Some((id, mut key)) = found else {
            return Ok(None);
        };
        let now = unix_now();
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").bind(now).bind(id).execute(&self.writer).await?;
        key.last_used_at = Some(now);
        Ok(Some(key))
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<Row> =
            sqlx::query_as("SELECT name, key_prefix, scopes, created_at, last_used_at FROM api_keys ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    pub async fn remove_api_key(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM api_keys WHERE name = ?").bind(name).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("API key {name}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn create_verify_list_remove() {
        let (_dir, store) = crate::store::test_store().await;
        assert!(store.list_api_keys().await.unwrap().is_empty(), "no default keys");
        let key = store.create_api_key("wallboard", &scopes(&["stats", "events", "stats"])).await.unwrap();
        assert!(key.starts_with("sb_"));
        // 32 bytes in unpadded URL-safe base64 are 43 characters.
        assert_eq!(key.len(), 3 + 43);
        assert!(key[3..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

        let listed = store.list_api_keys().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].prefix, &key[..8]);
        assert_eq!(listed[0].scopes, vec!["stats", "events"]);
        assert_eq!(listed[0].last_used_at, None);

        let ok = store.verify_api_key(&key).await.unwrap().expect("valid key");
        assert_eq!(ok.name, "wallboard");
        assert!(ok.allows("events") && ok.allows("stats") && !ok.allows("calls"));
        assert!(store.list_api_keys().await.unwrap()[0].last_used_at.is_some());

        // Same prefix, wrong rest; truncated; garbage; multi-byte input.
        let mut wrong = key.clone();
        wrong.pop();
        wrong.push(if key.ends_with('A') { 'B' } else { 'A' });
        for bad in [wrong.as_str(), &key[..20], "", "sb_", "Bearer x", "sb_é€€€€€€€€"] {
            assert_eq!(store.verify_api_key(bad).await.unwrap(), None, "{bad:?}");
        }

        // The secret itself is not stored.
        let (hash,): (String,) = sqlx::query_as("SELECT key_hash FROM api_keys").fetch_one(store.pool()).await.unwrap();
        assert_ne!(hash, key);
        assert_eq!(hash.len(), 64);

        assert!(matches!(
            store.create_api_key("wallboard", &scopes(&["stats"])).await,
            Err(StoreError::Exists(_))
        ));
        store.remove_api_key("wallboard").await.unwrap();
        assert_eq!(store.verify_api_key(&key).await.unwrap(), None, "removed keys stop working");
        assert!(matches!(store.remove_api_key("wallboard").await, Err(StoreError::NotFound(_))));
    }

    #[tokio::test]
    async fn rejects_bad_names_and_scopes() {
        let (_dir, store) = crate::store::test_store().await;
        assert!(matches!(store.create_api_key("a b", &scopes(&["stats"])).await, Err(StoreError::Invalid(_))));
        assert!(matches!(store.create_api_key("", &scopes(&["stats"])).await, Err(StoreError::Invalid(_))));
        assert!(matches!(store.create_api_key("x", &[]).await, Err(StoreError::Invalid(_))));
        assert!(matches!(store.create_api_key("x", &scopes(&["root"])).await, Err(StoreError::Invalid(_))));
        let admin = store.create_api_key("ops", &scopes(&["admin"])).await.unwrap();
        let k = store.verify_api_key(&admin).await.unwrap().unwrap();
        assert!(k.allows("events") && k.allows("calls"), "admin implies every scope");
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
