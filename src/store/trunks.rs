//! SIP trunks, their DID map and their last known health. A changed
//! trunk keeps its DIDs; a change of its line (host, transport,
//! credentials, registration) forgets the health measured on the old one.

use super::{map_unique, unix_now, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Trunk {
    pub name: String,
    /// `host:port` of the carrier's SIP server.
    pub host: String,
    /// "udp" or "tcp".
    pub transport: String,
    pub register: bool,
    pub username: Option<String>,
    pub secret: Option<String>,
    pub is_default: bool,
    /// Codecs this carrier may use, most preferred first; `None`: any codec
    /// on the relay, `[media] codecs` where the media engine negotiates.
    pub codecs: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Did {
    pub did: String,
    pub trunk: String,
    pub extension: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrunkStatus {
    pub trunk: String,
    pub options_ok: Option<bool>,
    pub registered: Option<bool>,
    pub detail: String,
    pub updated_at: i64,
}

impl Trunk {
    /// Whether `other` reaches the carrier the same way: host, transport,
    /// registration and credentials (not codecs nor the default flag). The
    /// trunk supervisor restarts a trunk's probes when this changes.
    pub fn same_line(&self, other: &Trunk) -> bool {
        (&self.host, &self.transport, self.register, &self.username, &self.secret)
            == (&other.host, &other.transport, other.register, &other.username, &other.secret)
    }
}

pub(super) const TRUNK_COLS: &str = "name, host, transport, register, username, secret, is_default, codecs";

impl Store {
    /// Adds a trunk with its DIDs. The first trunk becomes the default one for
    /// outbound calls unless another is marked default later.
    pub async fn add_trunk(&self, t: &Trunk, dids: &[(String, String)]) -> Result<(), StoreError> {
        let _changed = self.directory.changes();
        let mut tx = self.writer.begin().await?;
        let (others,): (i64,) = sqlx::query_as("SELECT count(*) FROM trunks").fetch_one(&mut *tx).await?;
        let is_default = t.is_default || others == 0;
        if is_default {
            sqlx::query("UPDATE trunks SET is_default = 0").execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO trunks (name, host, transport, register, username, secret, is_default, codecs, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.name)
        .bind(&t.host)
        .bind(&t.transport)
        .bind(t.register)
        .bind(&t.username)
        .bind(&t.secret)
        .bind(is_default)
        .bind(&t.codecs)
        .bind(unix_now())
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &format!("trunk {}", t.name)))?;
        for (did, ext) in dids {
            sqlx::query("INSERT INTO trunk_dids (did, trunk, extension) VALUES (?, ?, ?)")
                .bind(did)
                .bind(&t.name)
                .bind(ext)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_unique(e, &format!("DID {did}")))?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rewrites trunk `t.name` with every field of `t` (its DIDs stay).
    /// Marking it default unmarks the others; unmarking the default leaves
    /// the oldest trunk as the default. When the line changes
    /// ([`Trunk::same_line`]) the last status is dropped: it was measured
    /// on the old host or credentials.
    pub async fn update_trunk(&self, t: &Trunk) -> Result<(), StoreError> {
        let _changed = self.directory.changes();
        let mut tx = self.writer.begin().await?;
        let old: Option<Trunk> = sqlx::query_as(&format!("SELECT {TRUNK_COLS} FROM trunks WHERE name = ?"))
            .bind(&t.name)
            .fetch_optional(&mut *tx)
            .await?;
        let old = old.ok_or_else(|| StoreError::NotFound(format!("trunk {}", t.name)))?;
        if t.is_default && !old.is_default {
            sqlx::query("UPDATE trunks SET is_default = 0").execute(&mut *tx).await?;
        }
        sqlx::query(
            "UPDATE trunks SET host = ?, transport = ?, register = ?, username = ?, secret = ?, is_default = ?, codecs = ? \
             WHERE name = ?",
        )
        .bind(&t.host)
        .bind(&t.transport)
        .bind(t.register)
        .bind(&t.username)
        .bind(&t.secret)
        .bind(t.is_default)
        .bind(&t.codecs)
        .bind(&t.name)
        .execute(&mut *tx)
        .await?;
        if !old.same_line(t) {
            sqlx::query("DELETE FROM trunk_status WHERE trunk = ?").bind(&t.name).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // The next three and `did` read the in-memory directory: the call path
    // runs them for every INVITE.
    pub async fn list_trunks(&self) -> Result<Vec<Trunk>, StoreError> {
        Ok(self.directory.get(&self.pool).await?.trunks().to_vec())
    }

    pub async fn trunk(&self, name: &str) -> Result<Option<Trunk>, StoreError> {
        Ok(self.directory.get(&self.pool).await?.trunk(name).cloned())
    }

    pub async fn default_trunk(&self) -> Result<Option<Trunk>, StoreError> {
        Ok(self.directory.get(&self.pool).await?.default_trunk().cloned())
    }

    pub async fn remove_trunk(&self, name: &str) -> Result<(), StoreError> {
        let _changed = self.directory.changes();
        let done = sqlx::query("DELETE FROM trunks WHERE name = ?").bind(name).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("trunk {name}")));
        }
        Ok(())
    }

    pub async fn dids(&self, trunk: &str) -> Result<Vec<Did>, StoreError> {
        Ok(sqlx::query_as("SELECT did, trunk, extension FROM trunk_dids WHERE trunk = ? ORDER BY did")
            .bind(trunk)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn did(&self, did: &str) -> Result<Option<Did>, StoreError> {
        Ok(self.directory.get(&self.pool).await?.did(did).cloned())
    }

    pub async fn set_trunk_status(&self, s: &TrunkStatus) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO trunk_status (trunk, options_ok, registered, detail, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (trunk) DO UPDATE SET options_ok = excluded.options_ok, registered = excluded.registered, \
             detail = excluded.detail, updated_at = excluded.updated_at",
        )
        .bind(&s.trunk)
        .bind(s.options_ok)
        .bind(s.registered)
        .bind(&s.detail)
        .bind(s.updated_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn trunk_status(&self, trunk: &str) -> Result<Option<TrunkStatus>, StoreError> {
        Ok(sqlx::query_as("SELECT trunk, options_ok, registered, detail, updated_at FROM trunk_status WHERE trunk = ?")
            .bind(trunk)
            .fetch_optional(&self.pool)
            .await?)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A plain UDP trunk to 127.0.0.1:5080 (also used by `directory`'s tests).
    pub(in crate::store) fn trunk(name: &str) -> Trunk {
        Trunk {
            name: name.into(),
            host: "127.0.0.1:5080".into(),
            transport: "udp".into(),
            register: false,
            username: None,
            secret: None,
            is_default: false,
            codecs: None,
        }
    }

    #[tokio::test]
    async fn trunks_dids_and_default() {
        let (_d, store) = crate::store::test_store().await;
        store.add_trunk(&trunk("a"), &[("5551000".into(), "1001".into())]).await.unwrap();
        store.add_trunk(&trunk("b"), &[]).await.unwrap();
        assert_eq!(store.default_trunk().await.unwrap().unwrap().name, "a");
        assert!(matches!(
            store.add_trunk(&trunk("c"), &[("5551000".into(), "1".into())]).await,
            Err(StoreError::Exists(_))
        ));
        // The failed insert rolled back: trunk c does not exist.
        assert!(store.trunk("c").await.unwrap().is_none());
        assert_eq!(store.did("5551000").await.unwrap().unwrap().extension, "1001");
        store.remove_trunk("a").await.unwrap();
        assert!(store.did("5551000").await.unwrap().is_none(), "DIDs cascade");
        assert_eq!(store.default_trunk().await.unwrap().unwrap().name, "b");
    }

    #[tokio::test]
    async fn update_rewrites_the_row_keeps_dids_and_forgets_the_old_lines_status() {
        let (_d, store) = crate::store::test_store().await;
        store.add_trunk(&trunk("a"), &[("5551000".into(), "1001".into())]).await.unwrap();
        store.add_trunk(&trunk("b"), &[]).await.unwrap();
        let status = |name: &str| TrunkStatus { trunk: name.into(), options_ok: Some(true), registered: None, detail: String::new(), updated_at: 1 };
        store.set_trunk_status(&status("b")).await.unwrap();

        // Codecs and the default flag: the line is the same, its status stays.
        let b = Trunk { codecs: Some("PCMA".into()), is_default: true, ..trunk("b") };
        store.update_trunk(&b).await.unwrap();
        assert_eq!(store.trunk("b").await.unwrap().unwrap(), b);
        assert!(!store.trunk("a").await.unwrap().unwrap().is_default, "one default");
        assert_eq!(store.default_trunk().await.unwrap().unwrap().name, "b");
        assert!(store.trunk_status("b").await.unwrap().is_some());

        // A new host and credentials: a new line, the old status is gone.
        let moved = Trunk {
            host: "127.0.0.2:5090".into(),
            transport: "tcp".into(),
            register: true,
            username: Some("u".into()),
            secret: Some("s".into()),
            ..b.clone()
        };
        assert!(!moved.same_line(&b) && moved.same_line(&Trunk { codecs: None, ..moved.clone() }));
        store.update_trunk(&moved).await.unwrap();
        assert_eq!(store.trunk("b").await.unwrap().unwrap(), moved);
        assert!(store.trunk_status("b").await.unwrap().is_none());

        // Unmarking the default leaves the oldest trunk as the default; DIDs stay.
        store.update_trunk(&Trunk { is_default: false, ..moved }).await.unwrap();
        assert_eq!(store.default_trunk().await.unwrap().unwrap().name, "a");
        store.update_trunk(&Trunk { host: "127.0.0.3:5060".into(), ..trunk("a") }).await.unwrap();
        assert_eq!(store.did("5551000").await.unwrap().unwrap().trunk, "a");
        assert!(matches!(store.update_trunk(&trunk("zz")).await, Err(StoreError::NotFound(m)) if m == "trunk zz"));
    }
}
