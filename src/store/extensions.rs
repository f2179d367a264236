//! Extensions (SIP accounts of phones). Only HA1 digests are stored.

use super::{map_unique, unix_now, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Extension {
    pub number: String,
    pub name: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    /// Codec preference list; `None` uses `[media] codecs`.
    pub codecs: Option<String>,
}

impl Store {
    pub async fn add_extension(&self, ext: &Extension) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO extensions (number, name, realm, ha1_md5, ha1_sha256, codecs, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&ext.number)
        .bind(&ext.name)
        .bind(&ext.realm)
        .bind(&ext.ha1_md5)
        .bind(&ext.ha1_sha256)
        .bind(&ext.codecs)
        .bind(unix_now())
        .execute(&self.pool)
        .await
        .map_err(|e| map_unique(e, &format!("extension {}", ext.number)))?;
        Ok(())
    }

    pub async fn extension(&self, number: &str) -> Result<Option<Extension>, StoreError> {
        Ok(sqlx::query_as("SELECT number, name, realm, ha1_md5, ha1_sha256, codecs FROM extensions WHERE number = ?")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn list_extensions(&self) -> Result<Vec<Extension>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT number, name, realm, ha1_md5, ha1_sha256, codecs FROM extensions ORDER BY length(number), number",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Removes the extension and its registrations.
    pub async fn remove_extension(&self, number: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM extensions WHERE number = ?").bind(number).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("extension {number}")));
        }
        sqlx::query("DELETE FROM registrations WHERE aor = ?").bind(number).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(n: &str) -> Extension {
        Extension {
            number: n.into(),
            name: "A".into(),
            realm: "r".into(),
            ha1_md5: "m".into(),
            ha1_sha256: "s".into(),
            codecs: None,
        }
    }

    #[tokio::test]
    async fn add_list_remove() {
        let (_d, store) = crate::store::test_store().await;
        store.add_extension(&ext("1001")).await.unwrap();
        store.add_extension(&ext("200")).await.unwrap();
        assert!(matches!(store.add_extension(&ext("1001")).await, Err(StoreError::Exists(_))));
        let all: Vec<_> = store.list_extensions().await.unwrap().into_iter().map(|e| e.number).collect();
        assert_eq!(all, ["200", "1001"]);
        assert_eq!(store.extension("1001").await.unwrap(), Some(ext("1001")));
        store.remove_extension("1001").await.unwrap();
        assert!(matches!(store.remove_extension("1001").await, Err(StoreError::NotFound(_))));
        assert_eq!(store.extension("1001").await.unwrap(), None);
    }
}
