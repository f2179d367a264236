//! Console users and what authenticates them: argon2id password hashes,
//! login lockout, sessions (token and CSRF token), the one-time setup link
//! that creates the first admin, and the audit log of admin changes. Owns
//! the `users`, `sessions`, `setup_tokens` and `audit_log` tables. Must not
//! know about HTTP: cookies, forms and which role a page needs are the
//! web's business.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use sqlx::{QueryBuilder, Sqlite};

use super::{map_unique, unix_now, Store, StoreError};

/// Consecutive failed logins that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account stays locked (seconds).
pub const LOCKOUT_SECS: i64 = 15 * 60;
/// How long a one-time setup link stays valid (seconds).
pub const SETUP_LINK_SECS: i64 = 24 * 3600;
/// Shortest accepted password (NIST SP 800-63B asks for at least 8).
pub const MIN_PASSWORD_LEN: usize = 10;
const MAX_PASSWORD_LEN: usize = 128;

/// What a console user may do. Ordered: each role can do what the ones
/// below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Result<Role, StoreError> {
        match s {
            "admin" => Ok(Role::Admin),
            "supervisor" => Ok(Role::Supervisor),
            "agent" => Ok(Role::Agent),
            _ => Err(StoreError::Invalid(format!("role must be admin, supervisor or agent, got '{s}'"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The ACD agent this user works as (agent panel).
    pub agent_id: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub locked_until: Option<i64>,
}

/// Why a login was refused. The web shows all but `Locked` with the same
/// words, so a guesser learns nothing about which usernames exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefused {
    BadCredentials,
    Locked { until: i64 },
    Disabled,
}

/// A new session: the cookie value and the form token, both shown once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
}

/// A live session as the web sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

/// An audit log row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

type UserRow = (i64, String, String, String, Option<String>, i64, i64, Option<i64>, Option<i64>);
const USER_COLS: &str = "id, username, display_name, role, agent_id, disabled, created_at, last_login_at, locked_until";

fn from_row((id, username, display_name, role, agent_id, disabled, created_at, last_login_at, locked_until): UserRow) -> User {
    User {
        id,
        username,
        display_name,
        // The CHECK constraint allows nothing else; agent is the least privilege.
        role: Role::parse(&role).unwrap_or(Role::Agent),
        agent_id,
        disabled: disabled != 0,
        created_at,
        last_login_at,
        locked_until,
    }
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Usernames are lowercase letters, digits, `.`, `-`, `_`, `@` (an e-mail
/// address works), 1 to 64 characters.
pub fn normalize_username(name: &str) -> Result<String, StoreError> {
    let n = name.trim().to_ascii_lowercase();
    let ok = !n.is_empty() && n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@'));
    if ok {
        Ok(n)
    } else {
        Err(StoreError::Invalid("username must be 1 to 64 letters, digits, '.', '-', '_' or '@'".into()))
    }
}

/// Length rules only (NIST SP 800-63B: no composition rules).
pub fn check_password(password: &str, username: &str) -> Result<(), StoreError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(StoreError::Invalid(format!("password must be at least {MIN_PASSWORD_LEN} characters")));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(StoreError::Invalid(format!("password must be at most {MAX_PASSWORD_LEN} characters")));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(StoreError::Invalid("password must not be the username".into()));
    }
    Ok(())
}

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: the
/// OWASP recommendation). CPU-heavy on purpose: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("hashing password: {e}")))
}

/// False for a wrong password and for a hash that does not parse.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// argon2 runs (19 MiB and tens of ms each) allowed at once: a flood of
/// logins must not take all memory and blocking threads; the rest wait.
fn argon2_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(2))
}

async fn hash_blocking(password: String) -> Result<String, StoreError> {
    let _permit = argon2_permits().acquire().await.map_err(|e| StoreError::Invalid(format!("hashing password: {e}")))?;
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| StoreError::Invalid(format!("hashing password: {e}")))?
}

async fn verify_blocking(hash: String, password: String) -> bool {
    let Ok(_permit) = argon2_permits().acquire().await else { return false };
    tokio::task::spawn_blocking(move || verify_password(&hash, &password)).await.unwrap_or(false)
}

/// A hash of a password nobody has, verified when the username is unknown
/// so that unknown and known usernames take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

impl Store {
    /// Creates a user; the password is checked and hashed here.
    pub async fn create_user(&self, username: &str, display_name: &str, password: &str, role: Role, agent_id: Option<&str>) -> Result<User, StoreError> {
        let username = normalize_username(username)?;
        check_password(password, &username)?;
        let hash = hash_blocking(password.to_string()).await?;
        let id = sqlx::query("INSERT INTO users (username, display_name, password_hash, role, agent_id, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&username)
            .bind(display_name.trim())
            .bind(hash)
            .bind(role.as_str())
            .bind(agent_id.filter(|a| !a.is_empty()))
            .bind(unix_now())
            .execute(&self.writer)
            .await
            .map_err(|e| map_unique(e, &format!("user {username}")))?
            .last_insert_rowid();
        self.user(id).await
    }

    pub async fn user(&self, id: i64) -> Result<User, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE id = ?")).bind(id).fetch_optional(&self.pool).await?;
        row.map(from_row).ok_or_else(|| StoreError::NotFound(format!("user {id}")))
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLS} FROM users ORDER BY username")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// Enabled admins: zero means the setup link is needed.
    pub async fn admin_count(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0").fetch_one(&self.pool).await?;
        Ok(n)
    }

    /// Changes name, role, agent link and the disabled flag. Refuses to
    /// remove the last enabled admin (nobody could get back in).
    pub async fn update_user(&self, id: i64, display_name: &str, role: Role, agent_id: Option<&str>, disabled: bool) -> Result<User, StoreError> {
        let before = self.user(id).await?;
        let loses_admin = before.role == Role::Admin && !before.disabled && (role != Role::Admin || disabled);
        if loses_admin && self.admin_count().await? <= 1 {
            return Err(StoreError::Invalid("the last admin cannot be demoted or disabled".into()));
        }
        sqlx::query("UPDATE users SET display_name = ?, role = ?, agent_id = ?, disabled = ? WHERE id = ?")
            .bind(display_name.trim())
            .bind(role.as_str())
            .bind(agent_id.filter(|a| !a.is_empty()))
            .bind(disabled as i64)
            .bind(id)
            .execute(&self.writer)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?").bind(id).execute(&self.writer).await?;
        }
        self.user(id).await
    }

    /// Sets a new password, lifts a lockout and ends the user's sessions.
    pub async fn set_password(&self, id: i64, password: &str) -> Result<(), StoreError> {
        let user = self.user(id).await?;
        check_password(password, &user.username)?;
        let hash = hash_blocking(password.to_string()).await?;
        sqlx::query("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?").bind(hash).bind(id).execute(&self.writer).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?").bind(id).execute(&self.writer).await?;
        Ok(())
    }

    pub async fn remove_user(&self, id: i64) -> Result<User, StoreError> {
        let user = self.user(id).await?;
        if user.role == Role::Admin && !user.disabled && self.admin_count().await? <= 1 {
            return Err(StoreError::Invalid("the last admin cannot be removed".into()));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = ?").bind(id).execute(&self.writer).await?;
        sqlx::query("DELETE FROM users WHERE id = ?").bind(id).execute(&self.writer).await?;
        Ok(user)
    }

    /// Checks a username and password at `now`, counting failures and
    /// locking the account after [`MAX_FAILED_LOGINS`] in a row.
    pub async fn check_login(&self, username: &str, password: &str, now: i64) -> Result<Result<User, LoginRefused>, StoreError> {
        let name = normalize_username(username).unwrap_or_default();
        let row: Option<(i64, String)> = sqlx::query_as("SELECT id, password_hash FROM users WHERE username = ?").bind(&name).fetch_optional(&self.pool).await?;
        let Some((id, hash)) = row else {
            verify_blocking(decoy_hash().to_string(), password.to_string()).await;
            return Ok(Err(LoginRefused::BadCredentials));
        };
        let user = self.user(id).await?;
        if let Some(until) = user.locked_until.filter(|u| *u > now) {
            return Ok(Err(LoginRefused::Locked { until }));
        }
        if !verify_blocking(hash, password.to_string()).await {
            let failed: (i64,) = sqlx::query_as("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins")
                .bind(id)
                .fetch_one(&self.writer)
                .await?;
            if failed.0 >= MAX_FAILED_LOGINS {
                let until = now + LOCKOUT_SECS;
                sqlx::query("UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?").bind(until).bind(id).execute(&self.writer).await?;
                return Ok(Err(LoginRefused::Locked { until }));
            }
            return Ok(Err(LoginRefused::BadCredentials));
        }
        if user.disabled {
            return Ok(Err(LoginRefused::Disabled));
        }
        // Guesses running in parallel may have locked the account while this
        // one was being verified: the lock wins over a late right guess.
        if let Some(until) = self.user(id).await?.locked_until.filter(|u| *u > now) {
            return Ok(Err(LoginRefused::Locked { until }));
        }
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?").bind(now).bind(id).execute(&self.writer).await?;
        self.user(id).await.map(Ok)
    }

    /// Opens a session for `user_id` lasting at most `ttl_secs`.
    pub async fn create_session(&self, user_id: i64, ip: &str, ttl_secs: i64) -> Result<NewSession, StoreError> {
        let now = unix_now();
        // Expired sessions of everybody go now; no janitor task needed.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?").bind(now).execute(&self.writer).await?;
        let s = NewSession { token: random_token(), csrf: random_token() };
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(sha256_hex(&s.token))
            .bind(user_id)
            .bind(&s.csrf)
            .bind(now)
            .bind(now)
            .bind(now + ttl_secs)
            .bind(ip)
            .execute(&self.writer)
            .await?;
        Ok(s)
    }

    /// The session behind a cookie value, if it is live: not expired, idle
    /// for less than `idle_secs`, its user enabled. Notes the activity.
    pub async fn session(&self, token: &str, now: i64, idle_secs: i64) -> Result<Option<Session>, StoreError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let hash = sha256_hex(token);
        let row: Option<(i64, String, i64, i64)> =
            sqlx::query_as("SELECT user_id, csrf_token, last_seen_at, expires_at FROM sessions WHERE token_hash = ?").bind(&hash).fetch_optional(&self.pool).await?;
        let Some((user_id, csrf, seen, expires)) = row else { return Ok(None) };
        if expires <= now || seen + idle_secs <= now {
            sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(&hash).execute(&self.writer).await?;
            return Ok(None);
        }
        let user = match self.user(user_id).await {
            Ok(u) if !u.disabled => u,
            _ => return Ok(None),
        };
        // One write a minute at most per session, not one per request.
        if now - seen >= 60 {
            sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?").bind(now).bind(&hash).execute(&self.writer).await?;
        }
        Ok(Some(Session { user, csrf }))
    }

    pub async fn end_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(sha256_hex(token)).execute(&self.writer).await?;
        Ok(())
    }

    /// A new one-time setup token valid for `ttl_secs`, replacing any older
    /// one; `None` when an admin exists already (no link is needed then).
    pub async fn create_setup_token(&self, ttl_secs: i64) -> Result<Option<String>, StoreError> {
        if self.admin_count().await? > 0 {
            return Ok(None);
        }
        let token = random_token();
        let now = unix_now();
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)")
            .bind(sha256_hex(&token))
            .bind(now)
            .bind(now + ttl_secs)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Whether `token` is a live setup token (and no admin exists yet).
    pub async fn setup_token_valid(&self, token: &str, now: i64) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT expires_at FROM setup_tokens WHERE token_hash = ?").bind(sha256_hex(token)).fetch_optional(&self.pool).await?;
        Ok(row.is_some_and(|(exp,)| exp > now) && self.admin_count().await? == 0)
    }

    /// Spends the setup token on the first admin. The token check, the
    /// insert and the token's removal are one transaction, so two browsers
    /// racing with the same link create one admin.
    pub async fn create_first_admin(&self, token: &str, username: &str, display_name: &str, password: &str) -> Result<User, StoreError> {
        let username = normalize_username(username)?;
        check_password(password, &username)?;
        let hash = hash_blocking(password.to_string()).await?;
        let now = unix_now();
        let mut tx = self.writer.begin().await?;
        let spent = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = ? AND expires_at > ?").bind(sha256_hex(token)).bind(now).execute(&mut *tx).await?;
        let (admins,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0").fetch_one(&mut *tx).await?;
        if spent.rows_affected() == 0 || admins > 0 {
            return Err(StoreError::Invalid("this setup link is no longer valid".into()));
        }
        let id = sqlx::query("INSERT INTO users (username, display_name, password_hash, role, created_at) VALUES (?, ?, ?, 'admin', ?)")
            .bind(&username)
            .bind(display_name.trim())
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, &format!("user {username}")))?
            .last_insert_rowid();
        sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
        tx.commit().await?;
        self.user(id).await
    }

    /// Records an admin change. `detail` must not contain secrets.
    pub async fn audit(&self, actor: &str, action: &str, target: &str, detail: &str, ip: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail, ip) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(unix_now())
            .bind(actor)
            .bind(action)
            .bind(target)
            .bind(detail)
            .bind(ip)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Newest first.
    pub async fn list_audit(&self, limit: i64, offset: i64) -> Result<Vec<AuditEntry>, StoreError> {
        self.search_audit(&AuditFilter::default(), limit, offset).await
    }

    /// The entries `f` matches, newest first.
    pub async fn search_audit(&self, f: &AuditFilter, limit: i64, offset: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let mut qb: QueryBuilder<'_, Sqlite> = QueryBuilder::new("SELECT at, actor, action, target, detail, ip FROM audit_log");
        push_audit_where(&mut qb, f);
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit.clamp(1, 1000)).push(" OFFSET ").push_bind(offset.max(0));
        let rows: Vec<(i64, String, String, String, String, String)> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(at, actor, action, target, detail, ip)| AuditEntry { at, actor, action, target, detail, ip }).collect())
    }

    /// How many entries `f` matches.
    pub async fn count_audit(&self, f: &AuditFilter) -> Result<i64, StoreError> {
        let mut qb: QueryBuilder<'_, Sqlite> = QueryBuilder::new("SELECT COUNT(*) FROM audit_log");
        push_audit_where(&mut qb, f);
        let (n,): (i64,) = qb.build_query_as().fetch_one(&self.pool).await?;
        Ok(n)
    }
}

/// What the audit log is filtered on. Every value is bound as a query
/// parameter, never spliced into the SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor (a username, or `apikey:NAME`).
    pub actor: Option<String>,
    /// Actions starting with this (`user.` matches every user change).
    pub action: Option<String>,
    /// Exactly this target.
    pub target: Option<String>,
    /// Substring (ASCII case-insensitive) of actor, action, target or detail.
    pub text: Option<String>,
    /// At or after (unix seconds).
    pub since: Option<i64>,
    /// Before (unix seconds).
    pub until: Option<i64>,
}

fn push_audit_where(qb: &mut QueryBuilder<'_, Sqlite>, f: &AuditFilter) {
    let mut first = true;
    let mut next = |qb: &mut QueryBuilder<'_, Sqlite>| {
        qb.push(if first { " WHERE " } else { " AND " });
        first = false;
    };
    if let Some(v) = &f.actor {
        next(qb);
        qb.push("actor = ").push_bind(v.clone());
    }
    if let Some(v) = &f.action {
        next(qb);
        qb.push("instr(action, ").push_bind(v.clone()).push(") = 1");
    }
    if let Some(v) = &f.target {
        next(qb);
        qb.push("target = ").push_bind(v.clone());
    }
    if let Some(v) = &f.text {
        next(qb);
        qb.push("instr(lower(actor || ' ' || action || ' ' || target || ' ' || detail), lower(").push_bind(v.clone()).push(")) > 0");
    }
    if let Some(v) = f.since {
        next(qb);
        qb.push("at >= ").push_bind(v);
    }
    if let Some(v) = f.until {
        next(qb);
        qb.push("at < ").push_bind(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_salted() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn password_and_username_rules() {
        assert!(check_password("short", "ann").is_err());
        assert!(check_password("annannannann", "annannannann").is_err());
        assert!(check_password(&"x".repeat(129), "ann").is_err());
        assert!(check_password("long enough pw", "ann").is_ok());
        assert_eq!(normalize_username(" Ann.Lee@Example.org ").unwrap(), "ann.lee@example.org");
        for bad in ["", "a b", "ann'; DROP TABLE users;--", &"a".repeat(65)] {
            assert!(normalize_username(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn setup_link_creates_exactly_one_admin() {
        let (_dir, store) = crate::store::test_store().await;
        let token = store.create_setup_token(3600).await.unwrap().expect("no admin yet");
        let now = unix_now();
        assert!(store.setup_token_valid(&token, now).await.unwrap());
        assert!(!store.setup_token_valid("forged", now).await.unwrap());
        let admin = store.create_first_admin(&token, "Root", "The Admin", "a long passphrase").await.unwrap();
        assert_eq!((admin.username.as_str(), admin.role), ("root", Role::Admin));
        // Spent: neither the link nor a new one works any more.
        assert!(store.create_first_admin(&token, "root2", "", "a long passphrase").await.is_err());
        assert!(!store.setup_token_valid(&token, now).await.unwrap());
        assert_eq!(store.create_setup_token(3600).await.unwrap(), None);
        // An expired link is refused.
        let (_dir2, fresh) = crate::store::test_store().await;
        let t = fresh.create_setup_token(-1).await.unwrap().unwrap();
        assert!(fresh.create_first_admin(&t, "root", "", "a long passphrase").await.is_err());
    }

    #[tokio::test]
    async fn failed_logins_lock_the_account_for_a_while() {
        let (_dir, store) = crate::store::test_store().await;
        let u = store.create_user("agent7", "", "a long passphrase", Role::Agent, Some("alice")).await.unwrap();
        let now = 1_000_000;
        assert_eq!(store.check_login("nobody", "x", now).await.unwrap(), Err(LoginRefused::BadCredentials));
        for _ in 0..MAX_FAILED_LOGINS - 1 {
            assert_eq!(store.check_login("agent7", "wrong", now).await.unwrap(), Err(LoginRefused::BadCredentials));
        }
        assert_eq!(store.check_login("AGENT7", "wrong", now).await.unwrap(), Err(LoginRefused::Locked { until: now + LOCKOUT_SECS }));
        // Even the right password waits for the lock to end.
        assert!(matches!(store.check_login("agent7", "a long passphrase", now + 1).await.unwrap(), Err(LoginRefused::Locked { .. })));
        let ok = store.check_login("agent7", "a long passphrase", now + LOCKOUT_SECS + 1).await.unwrap().expect("unlocked");
        assert_eq!(ok.id, u.id);
        assert_eq!(ok.last_login_at, Some(now + LOCKOUT_SECS + 1));
    }

    #[tokio::test]
    async fn sessions_expire_idle_and_end_with_password_change() {
        let (_dir, store) = crate::store::test_store().await;
        let u = store.create_user("sup", "", "a long passphrase", Role::Supervisor, None).await.unwrap();
        let s = store.create_session(u.id, "127.0.0.1", 3600).await.unwrap();
        let now = unix_now();
        let live = store.session(&s.token, now, 600).await.unwrap().expect("live");
        assert_eq!((live.user.id, live.csrf.as_str()), (u.id, s.csrf.as_str()));
        assert!(store.session(&s.token, now + 601, 600).await.unwrap().is_none(), "idle too long");
        let s = store.create_session(u.id, "127.0.0.1", 3600).await.unwrap();
        assert!(store.session(&s.token, now + 3601, 7200).await.unwrap().is_none(), "expired");
        let s = store.create_session(u.id, "127.0.0.1", 3600).await.unwrap();
        store.set_password(u.id, "another long one").await.unwrap();
        assert!(store.session(&s.token, now, 600).await.unwrap().is_none(), "password change ends sessions");
        // The token itself is not stored.
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE token_hash = ?").bind(&s.token).fetch_one(store.pool()).await.unwrap();
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn the_last_admin_stays() {
        let (_dir, store) = crate::store::test_store().await;
        let a = store.create_user("root", "", "a long passphrase", Role::Admin, None).await.unwrap();
        assert!(store.update_user(a.id, "", Role::Agent, None, false).await.is_err());
        assert!(store.update_user(a.id, "", Role::Admin, None, true).await.is_err());
        assert!(store.remove_user(a.id).await.is_err());
        let b = store.create_user("root2", "", "a long passphrase", Role::Admin, None).await.unwrap();
        store.update_user(a.id, "", Role::Supervisor, None, false).await.unwrap();
        assert!(store.remove_user(b.id).await.is_err());
        store.audit("root2", "user.update", "root", "role supervisor", "127.0.0.1").await.unwrap();
        let log = store.list_audit(10, 0).await.unwrap();
        assert_eq!((log[0].actor.as_str(), log[0].action.as_str()), ("root2", "user.update"));
    }
}
