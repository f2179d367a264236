//! Web chats and their transcripts (migration 0013): one row per chat from
//! the public contact page, its messages in order, the agent who took it,
//! how it ended, the agent's disposition, and the customer it was linked
//! to when one matched. Owns the SQL only; the live chat is `crate::chat`.

use super::{Store, StoreError};

/// A chat as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChatRecord {
    pub id: String,
    pub queue: String,
    pub visitor_name: String,
    pub visitor_phone: String,
    pub visitor_email: String,
    pub customer_id: Option<i64>,
    pub ip: String,
    pub agent: Option<String>,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    pub ended_by: Option<String>,
    pub disposition: Option<String>,
    pub notes: Option<String>,
}

/// What `create_chat` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewChat {
    pub id: String,
    pub queue: String,
    pub visitor_name: String,
    pub visitor_phone: String,
    pub visitor_email: String,
    pub customer_id: Option<i64>,
    pub ip: String,
    pub started_at_ms: i64,
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ChatMessage {
    pub id: i64,
    pub at_ms: i64,
    /// `visitor`, `agent` or `system`.
    pub sender: String,
    pub agent: Option<String>,
    pub body: String,
}

const CHAT_COLUMNS: &str = "id, queue, visitor_name, visitor_phone, visitor_email, customer_id, ip, agent, started_at_ms, \
     answered_at_ms, ended_at_ms, ended_by, disposition, notes";

impl Store {
    pub async fn create_chat(&self, c: &NewChat) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chats (id, queue, visitor_name, visitor_phone, visitor_email, customer_id, ip, started_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.id)
        .bind(&c.queue)
        .bind(&c.visitor_name)
        .bind(&c.visitor_phone)
        .bind(&c.visitor_email)
        .bind(c.customer_id)
        .bind(&c.ip)
        .bind(c.started_at_ms)
        .execute(&self.writer)
        .await
        .map_err(|e| super::map_unique(e, &format!("chat {}", c.id)))?;
        Ok(())
    }

    /// Appends a message; returns its id.
    pub async fn add_chat_message(&self, chat: &str, at_ms: i64, sender: &str, agent: Option<&str>, body: &str) -> Result<i64, StoreError> {
        let done = sqlx::query("INSERT INTO chat_messages (chat_id, at_ms, sender, agent, body) VALUES (?, ?, ?, ?, ?)")
            .bind(chat)
            .bind(at_ms)
            .bind(sender)
            .bind(agent)
            .bind(body)
            .execute(&self.writer)
            .await?;
        Ok(done.last_insert_rowid())
    }

    pub async fn chat_answered(&self, chat: &str, agent: &str, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE chats SET agent = ?, answered_at_ms = ? WHERE id = ?").bind(agent).bind(at_ms).bind(chat).execute(&self.writer).await?;
        Ok(())
    }

    /// Closes a chat (a second close keeps the first one's time and reason).
    pub async fn end_chat(&self, chat: &str, at_ms: i64, ended_by: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE chats SET ended_at_ms = ?, ended_by = ? WHERE id = ? AND ended_at_ms IS NULL")
            .bind(at_ms)
            .bind(ended_by)
            .bind(chat)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Chats a previous run left open (the process stopped): closed as `shutdown`.
    pub async fn close_open_chats(&self, at_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE chats SET ended_at_ms = ?, ended_by = 'shutdown' WHERE ended_at_ms IS NULL").bind(at_ms).execute(&self.writer).await?;
        Ok(done.rows_affected())
    }

    pub async fn chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {CHAT_COLUMNS} FROM chats WHERE id = ?")).bind(id).fetch_optional(&self.pool).await?)
    }

    /// The transcript, oldest first.
    pub async fn chat_messages(&self, id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        Ok(sqlx::query_as("SELECT id, at_ms, sender, agent, body FROM chat_messages WHERE chat_id = ? ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The agent's disposition and notes for a chat they took.
    pub async fn set_chat_disposition(&self, id: &str, code: &str, notes: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE chats SET disposition = ?, notes = ? WHERE id = ?").bind(code).bind(notes).bind(id).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("chat {id}")));
        }
        Ok(())
    }

    /// Earlier chats of a customer (when known) or from a phone number,
    /// newest first.
    pub async fn chats_of(&self, customer_id: Option<i64>, phone: &str, limit: i64) -> Result<Vec<ChatRecord>, StoreError> {
        let phone = super::normalize_phone(phone).unwrap_or_default();
        if customer_id.is_none() && phone.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(&format!(
            "SELECT {CHAT_COLUMNS} FROM chats WHERE (customer_id IS NOT NULL AND customer_id = ?) OR (? <> '' AND visitor_phone = ?) \
             ORDER BY started_at_ms DESC LIMIT ?"
        ))
        .bind(customer_id)
        .bind(&phone)
        .bind(&phone)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await?)
    }

    /// The customer whose extra field `email` is this address (case-insensitive).
    pub async fn customer_by_email(&self, email: &str) -> Result<Option<super::Customer>, StoreError> {
        let email = email.trim();
        if email.is_empty() {
            return Ok(None);
        }
        let id: Option<(i64,)> = sqlx::query_as("SELECT id FROM customers WHERE lower(json_extract(data, '$.email')) = lower(?) ORDER BY id LIMIT 1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some((id,)) => self.customer(id).await,
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewCustomer;

    #[tokio::test]
    async fn chats_keep_their_transcript_and_link_to_the_customer() {
        let (_dir, store) = crate::store::test_store().await;
        let mut data = std::collections::BTreeMap::new();
        data.insert("email".to_string(), "Ada@Example.org".to_string());
        let cid = store
            .add_customer(&NewCustomer { name: "Ada".into(), phones: vec!["+1 555 0100".into()], data, ..NewCustomer::default() })
            .await
            .unwrap();
        assert_eq!(store.customer_by_email("ada@example.org").await.unwrap().map(|c| c.id), Some(cid));
        assert_eq!(store.customer_by_email("nobody@example.org").await.unwrap(), None);
        store
            .create_chat(&NewChat { id: "c1".into(), queue: "chat".into(), visitor_name: "Ada".into(), visitor_phone: "+15550100".into(), customer_id: Some(cid), started_at_ms: 10, ..NewChat::default() })
            .await
            .unwrap();
        assert!(matches!(store.create_chat(&NewChat { id: "c1".into(), queue: "chat".into(), ..NewChat::default() }).await, Err(StoreError::Exists(_))));
        store.add_chat_message("c1", 11, "visitor", None, "hello").await.unwrap();
        store.chat_answered("c1", "alice", 12).await.unwrap();
        store.add_chat_message("c1", 13, "agent", Some("alice"), "hi <b>").await.unwrap();
        store.end_chat("c1", 14, "visitor").await.unwrap();
        store.end_chat("c1", 99, "agent").await.unwrap();
        let c = store.chat("c1").await.unwrap().unwrap();
        assert_eq!((c.agent.as_deref(), c.ended_at_ms, c.ended_by.as_deref()), (Some("alice"), Some(14), Some("visitor")), "first close stands");
        let m = store.chat_messages("c1").await.unwrap();
        assert_eq!(m.iter().map(|m| (m.sender.as_str(), m.body.as_str())).collect::<Vec<_>>(), [("visitor", "hello"), ("agent", "hi <b>")]);
        assert_eq!(store.chats_of(Some(cid), "", 10).await.unwrap().len(), 1);
        assert_eq!(store.chats_of(None, "+1 555-0100", 10).await.unwrap().len(), 1);
        assert!(store.chats_of(None, "", 10).await.unwrap().is_empty());
        store.set_chat_disposition("c1", "support", "ok").await.unwrap();
        assert!(store.set_chat_disposition("nope", "x", "").await.is_err());
        // Deleting the customer keeps the transcript, unlinked.
        store.delete_customer(cid).await.unwrap();
        assert_eq!(store.chat("c1").await.unwrap().unwrap().customer_id, None);
        store.create_chat(&NewChat { id: "c2".into(), queue: "chat".into(), started_at_ms: 20, ..NewChat::default() }).await.unwrap();
        assert_eq!(store.close_open_chats(30).await.unwrap(), 1);
        assert_eq!(store.chat("c2").await.unwrap().unwrap().ended_by.as_deref(), Some("shutdown"));
    }
}
