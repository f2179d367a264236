//! Extensions (SIP accounts of phones). Only HA1 digests are stored.

use super::{map_unique, unix_now, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Extension {
    pub number: String,
    pub name: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    /// Codecs this phone may use, most preferred first; `None`: any codec
    /// on the relay, `[media] codecs` where the media engine negotiates.
    pub codecs: Option<String>,
    /// Outbound class of service (`config::DialClass` by name): which
    /// external numbers this phone may dial.
    pub dial_class: String,
}

pub(super) const EXTENSION_COLS: &str = "number, name, realm, ha1_md5, ha1_sha256, codecs, dial_class";

/// Extension numbers: 1 to 20 digits (what a desk phone can dial).
pub fn check_extension_number(number: &str) -> Result<(), StoreError> {
    if number.is_empty() || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StoreError::Invalid(format!("extension number must be 1 to 20 digits, got '{number}'")));
    }
    Ok(())
}

/// SIP secrets: at least 8 characters, at most 128.
pub fn check_extension_secret(secret: &str) -> Result<(), StoreError> {
    let n = secret.chars().count();
    if !(8..=128).contains(&n) {
        return Err(StoreError::Invalid("secret must be 8 to 128 characters".into()));
    }
    Ok(())
}

/// A codec list must parse and name only codecs the media engine implements.
pub fn check_codec_list(list: &str) -> Result<(), StoreError> {
    let prefs: crate::sdp::negotiate::CodecPrefs = list.parse().map_err(|e| StoreError::Invalid(format!("codecs '{list}': {e}")))?;
    for c in prefs.codecs() {
        if crate::media::codec::CodecKind::from_rtpmap(&c.name, c.clock_rate).is_none() {
            return Err(StoreError::Invalid(format!("codecs '{list}': {} is not implemented (use PCMU, PCMA, G722, opus)", c.name)));
        }
    }
    Ok(())
}

impl Extension {
    /// A checked extension with its digest HA1s (the secret itself is not kept).
    pub fn with_secret(number: &str, name: &str, realm: &str, secret: &str, codecs: Option<String>) -> Result<Extension, StoreError> {
        use crate::sip::auth::{ha1, Algorithm};
        check_extension_number(number)?;
        check_extension_secret(secret)?;
        let codecs = codecs.filter(|c| !c.trim().is_empty());
        if let Some(c) = &codecs {
            check_codec_list(c)?;
        }
        Ok(Extension {
            ha1_md5: ha1(Algorithm::Md5, number, realm, secret),
            ha1_sha256: ha1(Algorithm::Sha256, number, realm, secret),
            number: number.to_string(),
            name: name.trim().to_string(),
            realm: realm.to_string(),
            codecs,
            dial_class: crate::config::DialClass::National.as_str().to_string(),
        })
    }
}

impl Store {
    /// Changes the display name and codec list.
    pub async fn update_extension(&self, number: &str, name: &str, codecs: Option<&str>) -> Result<(), StoreError> {
        let _changed = self.directory.changes();
        let codecs = codecs.filter(|c| !c.trim().is_empty());
        if let Some(c) = codecs {
            check_codec_list(c)?;
        }
        let done = sqlx::query("UPDATE extensions SET name = ?, codecs = ? WHERE number = ?").bind(name.trim()).bind(codecs).bind(number).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("extension {number}")));
        }
        Ok(())
    }

    /// Sets the outbound class of service.
    pub async fn set_extension_dial_class(&self, number: &str, class: crate::config::DialClass) -> Result<(), StoreError> {
        let _changed = self.directory.changes();
        let done = sqlx::query("UPDATE extensions SET dial_class = ? WHERE number = ?").bind(class.as_str()).bind(number).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("extension {number}")));
        }
        Ok(())
    }

    /// Replaces the secret (its HA1s); registered phones must re-register with it.
    pub async fn set_extension_secret(&self, number: &str, realm: &str, secret: &str) -> Result<(), StoreError> {
        let _changed = self.directory.changes();
        let e = Extension::with_secret(number, "", realm, secret, None)?;
        let done = sqlx::query("UPDATE extensions SET realm = ?, ha1_md5 = ?, ha1_sha256 = ? WHERE number = ?")
            .bind(realm)
            .bind(e.ha1_md5)
            .bind(e.ha1_sha256)
            .bind(number)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("extension {number}")));
        }
        Ok(())
    }

    pub async fn add_extension(&self, ext: &Extension) -> Result<(), StoreError> {
        let _changed = self.directory.changes();
        sqlx::query(
            "INSERT INTO extensions (number, name, realm, ha1_md5, ha1_sha256, codecs, dial_class, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&ext.number)
        .bind(&ext.name)
        .bind(&ext.realm)
        .bind(&ext.ha1_md5)
        .bind(&ext.ha1_sha256)
        .bind(&ext.codecs)
        .bind(&ext.dial_class)
        .bind(unix_now())
        .execute(&self.writer)
        .await
        .map_err(|e| map_unique(e, &format!("extension {}", ext.number)))?;
        Ok(())
    }

    /// From the in-memory directory: this runs several times per call.
    pub async fn extension(&self, number: &str) -> Result<Option<Extension>, StoreError> {
        Ok(self.directory.get(&self.pool).await?.extension(number).cloned())
    }

    pub async fn list_extensions(&self) -> Result<Vec<Extension>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {EXTENSION_COLS} FROM extensions ORDER BY length(number), number")).fetch_all(&self.pool).await?)
    }

    /// Removes the extension and its registrations.
    pub async fn remove_extension(&self, number: &str) -> Result<(), StoreError> {
        let _changed = self.directory.changes();
        let mut tx = self.writer.begin().await?;
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
            dial_class: "national".into(),
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
