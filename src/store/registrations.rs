//! Registrar bindings (RFC 3261 §10.3), persisted so they survive a restart.

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Binding {
    /// Address of record: the extension number.
    pub aor: String,
    /// The Contact URI as the phone sent it (without header params).
    pub contact: String,
    /// Where the REGISTER came from (`ip:port`), used to reach phones behind NAT.
    pub source: String,
    /// "udp", "tcp" or "tls" (requests go back over the phone's own TLS connection).
    pub transport: String,
    pub call_id: String,
    pub cseq: i64,
    /// Unix seconds.
    pub expires_at: i64,
    pub q: Option<f64>,
    pub user_agent: String,
}

impl Store {
    /// Live bindings of `aor` at `now` (unix seconds).
    pub async fn bindings(&self, aor: &str, now: i64) -> Result<Vec<Binding>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT aor, contact, source, transport, call_id, cseq, expires_at, q, user_agent \
             FROM registrations WHERE aor = ? AND expires_at > ? ORDER BY q DESC, contact",
        )
        .bind(aor)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn all_bindings(&self, now: i64) -> Result<Vec<Binding>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT aor, contact, source, transport, call_id, cseq, expires_at, q, user_agent \
             FROM registrations WHERE expires_at > ? ORDER BY aor, contact",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn upsert_binding(&self, b: &Binding) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO registrations (aor, contact, source, transport, call_id, cseq, expires_at, q, user_agent) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (aor, contact) DO UPDATE SET source = excluded.source, transport = excluded.transport, \
             call_id = excluded.call_id, cseq = excluded.cseq, expires_at = excluded.expires_at, q = excluded.q, \
             user_agent = excluded.user_agent",
        )
        .bind(&b.aor)
        .bind(&b.contact)
        .bind(&b.source)
        .bind(&b.transport)
        .bind(&b.call_id)
        .bind(b.cseq)
        .bind(b.expires_at)
        .bind(b.q)
        .bind(&b.user_agent)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn remove_binding(&self, aor: &str, contact: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM registrations WHERE aor = ? AND contact = ?")
            .bind(aor)
            .bind(contact)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn remove_all_bindings(&self, aor: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM registrations WHERE aor = ?").bind(aor).execute(&self.writer).await?;
        Ok(())
    }

    /// Deletes expired rows; returns how many.
    pub async fn purge_expired_bindings(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM registrations WHERE expires_at <= ?").bind(now).execute(&self.writer).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(contact: &str, exp: i64) -> Binding {
        Binding {
            aor: "1001".into(),
            contact: contact.into(),
            source: "127.0.0.1:5070".into(),
            transport: "udp".into(),
            call_id: "c".into(),
            cseq: 1,
            expires_at: exp,
            q: None,
            user_agent: String::new(),
        }
    }

    #[tokio::test]
    async fn bindings_expire_and_update() {
        let (_d, store) = crate::store::test_store().await;
        store.upsert_binding(&b("sip:a@x", 100)).await.unwrap();
        store.upsert_binding(&b("sip:b@x", 200)).await.unwrap();
        assert_eq!(store.bindings("1001", 50).await.unwrap().len(), 2);
        assert_eq!(store.bindings("1001", 150).await.unwrap().len(), 1);
        store.upsert_binding(&b("sip:a@x", 300)).await.unwrap();
        assert_eq!(store.bindings("1001", 250).await.unwrap()[0].contact, "sip:a@x");
        assert_eq!(store.purge_expired_bindings(250).await.unwrap(), 1);
        store.remove_all_bindings("1001").await.unwrap();
        assert!(store.bindings("1001", 0).await.unwrap().is_empty());
    }
}
