//! Voicemail mailboxes and the messages left in them. Owns the two tables of
//! migration 0005 and the removal of message and replaced greeting files (a
//! deleted row must not leave its audio behind); must not decide call flow (that is
//! `crate::voicemail`) or send mail.
//!
//! PINs are never stored: a mailbox keeps `sha256(salt || pin)` with a random
//! per-mailbox salt, and `verify_pin` compares digests in constant time.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::{map_unique, unix_now, Store, StoreError};

/// Who a mailbox belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxKind {
    /// One extension's mailbox (same number as the extension).
    Extension,
    /// A shared mailbox: messages for a hunt group or queue, readable by its
    /// members.
    Group,
}

impl MailboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxKind::Extension => "extension",
            MailboxKind::Group => "group",
        }
    }

    /// Unknown text reads as `Extension`; the table's CHECK allows nothing else.
    fn from_db(s: &str) -> MailboxKind {
        if s == "group" {
            MailboxKind::Group
        } else {
            MailboxKind::Extension
        }
    }
}

/// A mailbox without its PIN digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub number: String,
    pub name: String,
    /// Where new messages are e-mailed; `None` = no e-mail.
    pub email: Option<String>,
    /// A recorded greeting; `None` = the spoken default.
    pub greeting_path: Option<String>,
    pub max_message_secs: i64,
    pub kind: MailboxKind,
    /// Group members (extensions); empty for extension mailboxes.
    pub members: Vec<String>,
    /// Unix seconds; ignored by create/update.
    pub created_at: i64,
}

impl Mailbox {
    /// An extension mailbox with the defaults of the migration.
    pub fn extension(number: &str) -> Mailbox {
        Mailbox {
            number: number.to_string(),
            name: String::new(),
            email: None,
            greeting_path: None,
            max_message_secs: 180,
            kind: MailboxKind::Extension,
            members: Vec::new(),
            created_at: 0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct MailboxRow {
    number: String,
    name: String,
    email: Option<String>,
    greeting_path: Option<String>,
    max_message_secs: i64,
    kind: String,
    members: String,
    created_at: i64,
}

impl From<MailboxRow> for Mailbox {
    fn from(r: MailboxRow) -> Mailbox {
        Mailbox {
            number: r.number,
            name: r.name,
            email: r.email,
            greeting_path: r.greeting_path,
            max_message_secs: r.max_message_secs,
            kind: MailboxKind::from_db(&r.kind),
            members: r.members.split(',').map(str::trim).filter(|m| !m.is_empty()).map(String::from).collect(),
            created_at: r.created_at,
        }
    }
}

const MAILBOX_COLUMNS: &str = "number, name, email, greeting_path, max_message_secs, kind, members, created_at";

/// A message about to be stored (its audio is already on disk at `path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoicemail {
    pub mailbox: String,
    pub caller: String,
    pub caller_name: String,
    pub call_id: String,
    pub duration_ms: i64,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoicemailMessage {
    pub id: i64,
    pub mailbox: String,
    pub caller: String,
    pub caller_name: String,
    pub call_id: String,
    /// Unix seconds.
    pub created_at: i64,
    pub duration_ms: i64,
    pub path: String,
    pub heard: bool,
    pub emailed: bool,
}

const MESSAGE_COLUMNS: &str = "id, mailbox, caller, caller_name, call_id, created_at, duration_ms, path, heard, emailed";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pin_digest(salt_hex: &str, pin: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt_hex.as_bytes());
    h.update(pin.as_bytes());
    h.finalize().into()
}

/// Equal-length comparison whose time does not depend on where bytes differ,
/// so response timing does not leak how much of a guessed PIN digest matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Removes a message file; an already missing file is fine (the row was the
/// only thing left to clean up).
fn remove_file(path: &str) -> Result<(), StoreError> {
    match std::fs::remove_file(Path::new(path)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::File { path: path.to_string(), source: e }),
        _ => Ok(()),
    }
}

impl Store {
    /// Creates a mailbox with `pin` (stored salted and hashed).
    pub async fn create_mailbox(&self, mailbox: &Mailbox, pin: &str) -> Result<(), StoreError> {
        let salt = hex(&rand::random::<[u8; 16]>());
        let digest = hex(&pin_digest(&salt, pin));
        sqlx::query(
            "INSERT INTO mailboxes (number, name, pin_hash, pin_salt, email, greeting_path, max_message_secs, kind, members, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&mailbox.number)
        .bind(&mailbox.name)
        .bind(digest)
        .bind(salt)
        .bind(&mailbox.email)
        .bind(&mailbox.greeting_path)
        .bind(mailbox.max_message_secs)
        .bind(mailbox.kind.as_str())
        .bind(mailbox.members.join(","))
        .bind(unix_now())
        .execute(&self.writer)
        .await
        .map_err(|e| map_unique(e, &format!("mailbox {}", mailbox.number)))?;
        Ok(())
    }

    /// Updates everything but the number, PIN and creation time.
    pub async fn update_mailbox(&self, mailbox: &Mailbox) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE mailboxes SET name = ?, email = ?, greeting_path = ?, max_message_secs = ?, kind = ?, members = ? WHERE number = ?",
        )
        .bind(&mailbox.name)
        .bind(&mailbox.email)
        .bind(&mailbox.greeting_path)
        .bind(mailbox.max_message_secs)
        .bind(mailbox.kind.as_str())
        .bind(mailbox.members.join(","))
        .bind(&mailbox.number)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("mailbox {}", mailbox.number)));
        }
        Ok(())
    }

    /// Replaces the PIN (with a fresh salt).
    pub async fn set_mailbox_pin(&self, number: &str, pin: &str) -> Result<(), StoreError> {
        let salt = hex(&rand::random::<[u8; 16]>());
        let done = sqlx::query("UPDATE mailboxes SET pin_hash = ?, pin_salt = ? WHERE number = ?")
            .bind(hex(&pin_digest(&salt, pin)))
            .bind(salt)
            .bind(number)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("mailbox {number}")));
        }
        Ok(())
    }

    /// Sets (`Some(path)`) or clears (`None`, back to the spoken default) the
    /// recorded greeting, then removes the previous greeting's file if it
    /// exists and is not the new one: a replaced greeting is never played
    /// again, and the mailbox owns its greeting file as it owns its messages.
    pub async fn set_greeting(&self, number: &str, path: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let old: Option<(Option<String>,)> = sqlx::query_as("SELECT greeting_path FROM mailboxes WHERE number = ?")
            .bind(number)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((old,)) = old else {
            return Err(StoreError::NotFound(format!("mailbox {number}")));
        };
        sqlx::query("UPDATE mailboxes SET greeting_path = ? WHERE number = ?").bind(path).bind(number).execute(&mut *tx).await?;
        tx.commit().await?;
        // The file goes after the commit: a failed update must not leave the
        // row pointing at a deleted greeting.
        match old {
            Some(old) if Some(old.as_str()) != path => remove_file(&old),
            _ => Ok(()),
        }
    }

    pub async fn mailbox(&self, number: &str) -> Result<Option<Mailbox>, StoreError> {
        let row: Option<MailboxRow> = sqlx::query_as(&format!("SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE number = ?"))
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Mailbox::from))
    }

    pub async fn list_mailboxes(&self) -> Result<Vec<Mailbox>, StoreError> {
        let rows: Vec<MailboxRow> =
            sqlx::query_as(&format!("SELECT {MAILBOX_COLUMNS} FROM mailboxes ORDER BY length(number), number"))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(Mailbox::from).collect())
    }

    /// Removes the mailbox, its messages and their files.
    pub async fn delete_mailbox(&self, number: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let paths: Vec<(String,)> = sqlx::query_as("SELECT path FROM voicemail_messages WHERE mailbox = ?")
            .bind(number)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM voicemail_messages WHERE mailbox = ?").bind(number).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM mailboxes WHERE number = ?").bind(number).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("mailbox {number}")));
        }
        tx.commit().await?;
        // Files go after the commit: a failed commit must not lose audio.
        for (path,) in paths {
            remove_file(&path)?;
        }
        Ok(())
    }

    /// True when `pin` is the mailbox's PIN; false for a wrong PIN or an
    /// unknown mailbox (the caller must not learn which).
    pub async fn verify_pin(&self, number: &str, pin: &str) -> Result<bool, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as("SELECT pin_hash, pin_salt FROM mailboxes WHERE number = ?")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some((stored, salt)) => constant_time_eq(hex(&pin_digest(&salt, pin)).as_bytes(), stored.as_bytes()),
            None => false,
        })
    }

    /// Stores a message row (created now, unheard, not e-mailed); returns its id.
    pub async fn insert_message(&self, msg: &NewVoicemail) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO voicemail_messages (mailbox, caller, caller_name, call_id, created_at, duration_ms, path) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&msg.mailbox)
        .bind(&msg.caller)
        .bind(&msg.caller_name)
        .bind(&msg.call_id)
        .bind(unix_now())
        .bind(msg.duration_ms)
        .bind(&msg.path)
        .execute(&self.writer)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound(format!("mailbox {}", msg.mailbox)),
            _ => StoreError::Query(e),
        })?;
        Ok(done.last_insert_rowid())
    }

    /// A mailbox's messages in listening order: new ones first, then heard
    /// ones, oldest first within each.
    pub async fn messages(&self, mailbox: &str) -> Result<Vec<VoicemailMessage>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM voicemail_messages WHERE mailbox = ? ORDER BY heard, created_at, id"
        ))
        .bind(mailbox)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every message, newest first (for listings).
    pub async fn all_messages(&self, limit: i64) -> Result<Vec<VoicemailMessage>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {MESSAGE_COLUMNS} FROM voicemail_messages ORDER BY created_at DESC, id DESC LIMIT ?"))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn message(&self, id: i64) -> Result<Option<VoicemailMessage>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {MESSAGE_COLUMNS} FROM voicemail_messages WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn mark_heard(&self, id: i64) -> Result<(), StoreError> {
        self.set_message_flag(id, "heard").await
    }

    pub async fn mark_emailed(&self, id: i64) -> Result<(), StoreError> {
        self.set_message_flag(id, "emailed").await
    }

    /// `column` is one of two literals above, never outside input.
    async fn set_message_flag(&self, id: i64, column: &str) -> Result<(), StoreError> {
        let done = sqlx::query(&format!("UPDATE voicemail_messages SET {column} = 1 WHERE id = ?"))
            .bind(id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("voicemail message {id}")));
        }
        Ok(())
    }

    /// Deletes the row, then its audio file.
    pub async fn delete_message(&self, id: i64) -> Result<(), StoreError> {
        let row: Option<(String,)> = sqlx::query_as("DELETE FROM voicemail_messages WHERE id = ? RETURNING path")
            .bind(id)
            .fetch_optional(&self.writer)
            .await?;
        match row {
            Some((path,)) => remove_file(&path),
            None => Err(StoreError::NotFound(format!("voicemail message {id}"))),
        }
    }

    /// `(new, old)`: unheard and heard messages in the mailbox.
    pub async fn message_counts(&self, mailbox: &str) -> Result<(i64, i64), StoreError> {
        let (new, old): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(heard = 0), 0), COALESCE(SUM(heard = 1), 0) FROM voicemail_messages WHERE mailbox = ?",
        )
        .bind(mailbox)
        .fetch_one(&self.pool)
        .await?;
        Ok((new, old))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(mailbox: &str, caller: &str, path: &str) -> NewVoicemail {
        NewVoicemail {
            mailbox: mailbox.into(),
            caller: caller.into(),
            caller_name: format!("Caller {caller}"),
            call_id: format!("call-{caller}"),
            duration_ms: 4200,
            path: path.into(),
        }
    }

    #[tokio::test]
    async fn mailbox_create_update_list_delete() {
        let (_d, store) = crate::store::test_store().await;
        let mut mb = Mailbox::extension("1001");
        mb.name = "Alice".into();
        mb.email = Some("alice@example.org".into());
        store.create_mailbox(&mb, "1234").await.unwrap();
        assert!(matches!(store.create_mailbox(&mb, "9999").await, Err(StoreError::Exists(_))));
        let group = Mailbox {
            kind: MailboxKind::Group,
            members: vec!["1001".into(), "1002".into()],
            max_message_secs: 60,
            ..Mailbox::extension("500")
        };
        store.create_mailbox(&group, "5555").await.unwrap();

        let got = store.mailbox("1001").await.unwrap().unwrap();
        assert_eq!((got.name.as_str(), got.email.as_deref(), got.max_message_secs), ("Alice", Some("alice@example.org"), 180));
        assert!(got.created_at > 0);
        let g = store.mailbox("500").await.unwrap().unwrap();
        assert_eq!((g.kind, g.members.clone(), g.max_message_secs), (MailboxKind::Group, vec!["1001".to_string(), "1002".into()], 60));
        let numbers: Vec<_> = store.list_mailboxes().await.unwrap().into_iter().map(|m| m.number).collect();
        assert_eq!(numbers, ["500", "1001"]);

        mb.greeting_path = Some("/greet.wav".into());
        mb.email = None;
        store.update_mailbox(&mb).await.unwrap();
        let got = store.mailbox("1001").await.unwrap().unwrap();
        assert_eq!((got.greeting_path.as_deref(), got.email), (Some("/greet.wav"), None));
        assert!(matches!(store.update_mailbox(&Mailbox::extension("77")).await, Err(StoreError::NotFound(_))));

        store.delete_mailbox("1001").await.unwrap();
        assert!(matches!(store.delete_mailbox("1001").await, Err(StoreError::NotFound(_))));
        assert_eq!(store.mailbox("1001").await.unwrap(), None);
    }

    #[tokio::test]
    async fn set_greeting_replaces_and_clears_removing_old_files() {
        let (d, store) = crate::store::test_store().await;
        store.create_mailbox(&Mailbox::extension("1001"), "1234").await.unwrap();
        let file = |name: &str| {
            let p = d.path().join(name);
            std::fs::write(&p, b"RIFF").unwrap();
            p.display().to_string()
        };
        let (first, second) = (file("g1.wav"), file("g2.wav"));
        store.set_greeting("1001", Some(&first)).await.unwrap();
        assert_eq!(store.mailbox("1001").await.unwrap().unwrap().greeting_path.as_deref(), Some(first.as_str()));
        store.set_greeting("1001", Some(&first)).await.unwrap();
        assert!(Path::new(&first).exists(), "setting the same file again keeps it");
        store.set_greeting("1001", Some(&second)).await.unwrap();
        assert!(!Path::new(&first).exists(), "replaced greeting removed");
        assert_eq!(store.mailbox("1001").await.unwrap().unwrap().greeting_path.as_deref(), Some(second.as_str()));
        store.set_greeting("1001", None).await.unwrap();
        assert!(!Path::new(&second).exists(), "cleared greeting removed");
        assert_eq!(store.mailbox("1001").await.unwrap().unwrap().greeting_path, None);
        store.set_greeting("1001", None).await.unwrap();
        // A greeting file already gone is not an error.
        store.set_greeting("1001", Some("/nonexistent/greeting.wav")).await.unwrap();
        store.set_greeting("1001", None).await.unwrap();
        assert!(matches!(store.set_greeting("9", None).await, Err(StoreError::NotFound(_))));
    }

    #[tokio::test]
    async fn pin_is_salted_hashed_and_verified() {
        let (_d, store) = crate::store::test_store().await;
        store.create_mailbox(&Mailbox::extension("1001"), "1234").await.unwrap();
        store.create_mailbox(&Mailbox::extension("1002"), "1234").await.unwrap();
        assert!(store.verify_pin("1001", "1234").await.unwrap());
        assert!(!store.verify_pin("1001", "1235").await.unwrap());
        assert!(!store.verify_pin("1001", "").await.unwrap());
        assert!(!store.verify_pin("9999", "1234").await.unwrap(), "unknown mailbox");
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT pin_hash, pin_salt FROM mailboxes ORDER BY number").fetch_all(store.pool()).await.unwrap();
        assert!(rows.iter().all(|(h, _)| !h.contains("1234") && h.len() == 64));
        assert_ne!(rows[0], rows[1], "same PIN, different salt and digest");
        store.set_mailbox_pin("1001", "987654").await.unwrap();
        assert!(!store.verify_pin("1001", "1234").await.unwrap());
        assert!(store.verify_pin("1001", "987654").await.unwrap());
        assert!(matches!(store.set_mailbox_pin("9", "1111").await, Err(StoreError::NotFound(_))));
    }

    #[tokio::test]
    async fn messages_order_flags_counts_and_delete_removes_file() {
        let (d, store) = crate::store::test_store().await;
        store.create_mailbox(&Mailbox::extension("1001"), "1234").await.unwrap();
        let files: Vec<String> = (0..3)
            .map(|i| {
                let p = d.path().join(format!("m{i}.wav"));
                std::fs::write(&p, b"RIFF").unwrap();
                p.display().to_string()
            })
            .collect();
        let a = store.insert_message(&msg("1001", "a", &files[0])).await.unwrap();
        let b = store.insert_message(&msg("1001", "b", &files[1])).await.unwrap();
        let c = store.insert_message(&msg("1001", "c", &files[2])).await.unwrap();
        assert!(matches!(store.insert_message(&msg("404", "x", "/nowhere.wav")).await, Err(StoreError::NotFound(_))));
        assert_eq!(store.message_counts("1001").await.unwrap(), (3, 0));

        store.mark_heard(a).await.unwrap();
        let order: Vec<i64> = store.messages("1001").await.unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(order, [b, c, a], "new first, then old, oldest first within each");
        assert_eq!(store.message_counts("1001").await.unwrap(), (2, 1));

        store.mark_emailed(b).await.unwrap();
        let mb = store.message(b).await.unwrap().unwrap();
        assert_eq!((mb.emailed, mb.heard, mb.caller.as_str(), mb.duration_ms), (true, false, "b", 4200));
        assert!(matches!(store.mark_heard(999).await, Err(StoreError::NotFound(_))));

        store.delete_message(b).await.unwrap();
        assert!(!Path::new(&files[1]).exists(), "file removed with the row");
        assert_eq!(store.message(b).await.unwrap(), None);
        assert!(matches!(store.delete_message(b).await, Err(StoreError::NotFound(_))));
        assert_eq!(store.all_messages(10).await.unwrap().len(), 2);

        store.delete_mailbox("1001").await.unwrap();
        assert!(!Path::new(&files[0]).exists() && !Path::new(&files[2]).exists(), "mailbox removal takes its files");
        assert_eq!(store.message_counts("1001").await.unwrap(), (0, 0));
    }
}
