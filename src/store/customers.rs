//! Customers: the table behind the dialplan `lookup` app and the
//! `customer` admin commands. Owns the customers / customer_phones SQL,
//! phone-number normalization and the CSV import's column mapping; must not
//! know about dialplans (the call driver turns [`Customer::vars`] into
//! `Event::Lookup`).

use std::collections::BTreeMap;

use super::{map_unique, unix_now, InvalidField, Store, StoreError};

/// A customer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub account: Option<String>,
    /// Normalized numbers, in insertion order.
    pub phones: Vec<String>,
    pub tags: String,
    pub notes: String,
    /// Extra fields (`balance`, ...): the `data` JSON object.
    pub data: BTreeMap<String, String>,
    pub created_at: i64,
}

/// What `add_customer` / `update_customer` write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCustomer {
    pub name: String,
    pub account: Option<String>,
    /// Any notation ("+1 (555) 123-4567"); normalized on write.
    pub phones: Vec<String>,
    pub tags: String,
    pub notes: String,
    pub data: BTreeMap<String, String>,
}

/// Outcome of a CSV import: rows written and per-row errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub added: usize,
    /// Rows whose account already existed: that customer was updated.
    pub updated: usize,
    /// (line number in the file, message).
    pub errors: Vec<(usize, String)>,
}

impl Customer {
    /// The customer as dialplan variables (the `lookup` app prefixes them):
    /// data fields, then name, account, tags, notes, phone (first number),
    /// which win over data fields of the same name.
    pub fn vars(&self) -> BTreeMap<String, String> {
        let mut v = self.data.clone();
        v.insert("name".into(), self.name.clone());
        v.insert("account".into(), self.account.clone().unwrap_or_default());
        v.insert("tags".into(), self.tags.clone());
        v.insert("notes".into(), self.notes.clone());
        v.insert("phone".into(), self.phones.first().cloned().unwrap_or_default());
        v
    }
}

/// Keeps digits and a leading `+` ("+1 (555) 123-4567" -> "+15551234567").
/// `None` if no digit is left.
pub fn normalize_phone(s: &str) -> Option<String> {
    let t = s.trim();
    let plus = t.starts_with('+');
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    Some(if plus { format!("+{digits}") } else { digits })
}

/// The last 10 digits of a number that has at least 10 (the national
/// number in the NANP; in most other plans the subscriber part plus area
/// code), so national and international notations of one line match.
fn last10(normalized: &str) -> Option<String> {
    let d = normalized.trim_start_matches('+');
    (d.len() >= 10).then(|| d[d.len() - 10..].to_string())
}

type Row = (i64, String, Option<String>, String, String, String, i64);

const COLS: &str = "id, name, account, tags, notes, data, created_at";

fn parse_data(json: &str) -> BTreeMap<String, String> {
    // Written by this module as an object of strings; anything else (a hand
    // edit) is read leniently rather than failing the lookup.
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(o)) => o
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Checks a customer before writing it; the error names the field at
/// fault (`name`, `account`, `phones`, or `fields` for the extra data).
pub fn validate_customer(c: &NewCustomer) -> Result<(), InvalidField> {
    check(c).map(drop)
}

/// Validates, and returns the normalized phone list and the data JSON.
fn check(c: &NewCustomer) -> Result<(Vec<String>, String), InvalidField> {
    let bad = |field: &'static str, message: String| InvalidField { field, message };
    if c.name.trim().is_empty() {
        return Err(bad("name", "customer name must not be empty".into()));
    }
    if let Some(a) = &c.account {
        if a.is_empty() || a.len() > 32 || !a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(bad("account", format!("account {a:?} must be 1 to 32 letters, digits or '-'")));
        }
    }
    let mut phones = Vec::new();
    for p in &c.phones {
        let n = normalize_phone(p).ok_or_else(|| bad("phones", format!("phone {p:?} has no digits (or over 20)")))?;
        if !phones.contains(&n) {
            phones.push(n);
        }
    }
    for k in c.data.keys() {
        if k.is_empty() || k.len() > 48 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad("fields", format!("field name {k:?} must be [A-Za-z0-9_]+ (it becomes a dialplan variable)")));
        }
    }
    let data = serde_json::to_string(&c.data).unwrap_or_else(|_| "{}".into());
    Ok((phones, data))
}

/// `text` as a LIKE pattern matching it anywhere (`\` escapes).
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The digits to look for among phone numbers when a search text looks
/// like (part of) a number: only digits, spaces and `+-().`, at least 3
/// digits. "Ann 2" must not match every number with a 2 in it.
fn phone_digits(text: &str) -> Option<String> {
    let t = text.trim();
    if !t.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 3).then_some(digits)
}

/// The search condition over `customers` (parameters: text, pattern, phone pattern).
const SEARCH_WHERE: &str = "(?1 = '' OR name LIKE ?2 ESCAPE '\\' OR IFNULL(account, '') LIKE ?2 ESCAPE '\\' \
     OR tags LIKE ?2 ESCAPE '\\' OR notes LIKE ?2 ESCAPE '\\' \
     OR (?3 <> '' AND id IN (SELECT customer_id FROM customer_phones WHERE number LIKE ?3)))";

impl Store {
    /// Adds a customer; returns its id. `Exists` if the account is taken.
    pub async fn add_customer(&self, c: &NewCustomer) -> Result<i64, StoreError> {
        let (phones, data) = check(c)?;
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("INSERT INTO customers (name, account, tags, notes, data, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(c.name.trim())
            .bind(&c.account)
            .bind(&c.tags)
            .bind(&c.notes)
            .bind(data)
            .bind(unix_now())
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, &format!("account {}", c.account.as_deref().unwrap_or(""))))?;
        let id = done.last_insert_rowid();
        insert_phones(&mut tx, id, &phones).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Replaces every field and the phone list of customer `id`.
    pub async fn update_customer(&self, id: i64, c: &NewCustomer) -> Result<(), StoreError> {
        let (phones, data) = check(c)?;
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("UPDATE customers SET name = ?, account = ?, tags = ?, notes = ?, data = ? WHERE id = ?")
            .bind(c.name.trim())
            .bind(&c.account)
            .bind(&c.tags)
            .bind(&c.notes)
            .bind(data)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, &format!("account {}", c.account.as_deref().unwrap_or(""))))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("customer {id}")));
        }
        sqlx::query("DELETE FROM customer_phones WHERE customer_id = ?").bind(id).execute(&mut *tx).await?;
        insert_phones(&mut tx, id, &phones).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the customer and its phone numbers.
    pub async fn delete_customer(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        // Explicit, not only ON DELETE CASCADE: correct even on a connection
        // opened without foreign_keys.
        sqlx::query("DELETE FROM customer_phones WHERE customer_id = ?").bind(id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM customers WHERE id = ?").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("customer {id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn customer(&self, id: i64) -> Result<Option<Customer>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM customers WHERE id = ?")).bind(id).fetch_optional(&self.pool).await?;
        self.hydrate(row).await
    }

    /// By phone number in any notation: the exact normalized number first,
    /// then (for numbers of 10+ digits) the same last 10 digits. The oldest
    /// customer wins when several share a number.
    pub async fn customer_by_phone(&self, number: &str) -> Result<Option<Customer>, StoreError> {
        let Some(n) = normalize_phone(number) else { return Ok(None) };
        let exact: Option<(i64,)> = sqlx::query_as("SELECT customer_id FROM customer_phones WHERE number = ? ORDER BY customer_id LIMIT 1")
            .bind(&n)
            .fetch_optional(&self.pool)
            .await?;
        let id = match (exact, last10(&n)) {
            (Some((id,)), _) => Some(id),
            (None, Some(l)) => sqlx::query_as::<_, (i64,)>("SELECT customer_id FROM customer_phones WHERE last10 = ? ORDER BY customer_id LIMIT 1")
                .bind(l)
                .fetch_optional(&self.pool)
                .await?
                .map(|(id,)| id),
            (None, None) => None,
        };
        match id {
            Some(id) => self.customer(id).await,
            None => Ok(None),
        }
    }

    /// By account number (exact, after trimming).
    pub async fn customer_by_account(&self, account: &str) -> Result<Option<Customer>, StoreError> {
        let row: Option<Row> =
            sqlx::query_as(&format!("SELECT {COLS} FROM customers WHERE account = ?")).bind(account.trim()).fetch_optional(&self.pool).await?;
        self.hydrate(row).await
    }

    /// All customers by id.
    pub async fn list_customers(&self) -> Result<Vec<Customer>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM customers ORDER BY id")).fetch_all(&self.pool).await?;
        let phones: Vec<(i64, String)> = sqlx::query_as("SELECT customer_id, number FROM customer_phones ORDER BY rowid").fetch_all(&self.pool).await?;
        let mut by_id: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (id, n) in phones {
            by_id.entry(id).or_default().push(n);
        }
        Ok(rows.into_iter().map(|r| { let p = by_id.remove(&r.0).unwrap_or_default(); from_row(r, p) }).collect())
    }

    /// Customers whose name, account, tags or notes contain `text`
    /// (ASCII case-insensitive), or one of whose numbers contains its
    /// digits when it looks like a phone number; all for an empty text.
    /// By id, at most `limit` from `offset`, with the number of matches.
    pub async fn search_customers(&self, text: &str, limit: i64, offset: i64) -> Result<(Vec<Customer>, i64), StoreError> {
        let text = text.trim();
        let phone = phone_digits(text).map(|d| format!("%{d}%")).unwrap_or_default();
        let pattern = contains_pattern(text);
        let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM customers WHERE {SEARCH_WHERE}"))
            .bind(text)
            .bind(&pattern)
            .bind(&phone)
            .fetch_one(&self.pool)
            .await?;
        let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM customers WHERE {SEARCH_WHERE} ORDER BY id LIMIT ?4 OFFSET ?5"))
            .bind(text)
            .bind(&pattern)
            .bind(&phone)
            .bind(limit.max(0))
            .bind(offset.max(0))
            .fetch_all(&self.pool)
            .await?;
        let mut page = Vec::with_capacity(rows.len());
        for row in rows {
            // One small query per row: pages are bounded by the caller.
            if let Some(c) = self.hydrate(Some(row)).await? {
                page.push(c);
            }
        }
        Ok((page, total))
    }

    /// Imports CSV text with a header row `name,account,phones,tags,notes`
    /// (any order, case-insensitive; only `name` is required); `phones` is
    /// `;`-separated and every other column becomes a data field. A row
    /// whose account exists updates that customer. Bad rows are reported by
    /// line and skipped; good rows are kept.
    pub async fn import_customers_csv(&self, text: &str) -> Result<ImportReport, StoreError> {
        let mut report = ImportReport::default();
        let records = match crate::csv::parse(text) {
            Ok(r) => r,
            Err(e) => {
                report.errors.push((e.line(), e.to_string()));
                return Ok(report);
            }
        };
        let mut it = records.into_iter();
        let Some(header) = it.next() else {
            report.errors.push((1, "empty file (expected a header row)".into()));
            return Ok(report);
        };
        let cols: Vec<String> = header.fields.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        if !cols.iter().any(|c| c == "name") {
            report.errors.push((header.line, "header has no \"name\" column".into()));
            return Ok(report);
        }
        for rec in it {
            if rec.fields.len() != cols.len() {
                report.errors.push((rec.line, format!("{} fields, header has {}", rec.fields.len(), cols.len())));
                continue;
            }
            let mut c = NewCustomer::default();
            for (col, val) in cols.iter().zip(rec.fields) {
                let val = val.trim().to_string();
                match col.as_str() {
                    "name" => c.name = val,
                    "account" => c.account = (!val.is_empty()).then_some(val),
                    "phones" | "phone" => c.phones = val.split(';').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect(),
                    "tags" => c.tags = val,
                    "notes" => c.notes = val,
                    other if !val.is_empty() => {
                        c.data.insert(other.to_string(), val);
                    }
                    _ => {}
                }
            }
            let existing = match &c.account {
                Some(a) => self.customer_by_account(a).await?,
                None => None,
            };
            let res = match existing {
                Some(old) => self.update_customer(old.id, &c).await.map(|_| report.updated += 1),
                None => self.add_customer(&c).await.map(|_| report.added += 1),
            };
            match res {
                Ok(()) => {}
                Err(e @ (StoreError::Invalid(_) | StoreError::Exists(_))) => report.errors.push((rec.line, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    async fn hydrate(&self, row: Option<Row>) -> Result<Option<Customer>, StoreError> {
        let Some(row) = row else { return Ok(None) };
        let phones: Vec<(String,)> =
            sqlx::query_as("SELECT number FROM customer_phones WHERE customer_id = ? ORDER BY rowid").bind(row.0).fetch_all(&self.pool).await?;
        Ok(Some(from_row(row, phones.into_iter().map(|(n,)| n).collect())))
    }
}

fn from_row((id, name, account, tags, notes, data, created_at): Row, phones: Vec<String>) -> Customer {
    Customer { id, name, account, phones, tags, notes, data: parse_data(&data), created_at }
}

async fn insert_phones(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, id: i64, phones: &[String]) -> Result<(), StoreError> {
    for n in phones {
        sqlx::query("INSERT INTO customer_phones (number, last10, customer_id) VALUES (?, ?, ?)")
            .bind(n)
            .bind(last10(n))
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> NewCustomer {
        NewCustomer {
            name: "Ann Example".into(),
            account: Some("1234".into()),
            phones: vec!["+1 (555) 123-4567".into(), "1001".into()],
            tags: "vip".into(),
            notes: "".into(),
            data: BTreeMap::from([("balance".to_string(), "42.17".to_string())]),
        }
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize_phone(" +1 (555) 123-4567 ").as_deref(), Some("+15551234567"));
        assert_eq!(normalize_phone("555.123.4567").as_deref(), Some("5551234567"));
        assert_eq!(normalize_phone("abc"), None);
        assert_eq!(last10("+15551234567").as_deref(), Some("5551234567"));
        assert_eq!(last10("1001"), None);
    }

    #[tokio::test]
    async fn add_lookup_update_delete() {
        let (_d, store) = crate::store::test_store().await;
        let id = store.add_customer(&ann()).await.unwrap();
        assert!(matches!(store.add_customer(&ann()).await, Err(StoreError::Exists(_))));
        // Exact, national and international notations of the same line.
        for n in ["+15551234567", "15551234567", "555-123-4567", "+44 555 123 4567"] {
            assert_eq!(store.customer_by_phone(n).await.unwrap().map(|c| c.id), Some(id), "{n}");
        }
        assert_eq!(store.customer_by_phone("1001").await.unwrap().map(|c| c.id), Some(id));
        assert_eq!(store.customer_by_phone("11001").await.unwrap(), None, "short numbers match exactly only");
        assert_eq!(store.customer_by_phone("").await.unwrap(), None);
        let c = store.customer_by_account(" 1234 ").await.unwrap().unwrap();
        assert_eq!(c.phones, ["+15551234567", "1001"]);
        let v = c.vars();
        assert_eq!(v["balance"], "42.17");
        assert_eq!(v["name"], "Ann Example");
        assert_eq!(v["account"], "1234");
        assert_eq!(v["tags"], "vip");

        let mut changed = ann();
        changed.phones = vec!["200".into()];
        changed.data.insert("balance".into(), "0".into());
        store.update_customer(id, &changed).await.unwrap();
        assert_eq!(store.customer_by_phone("+15551234567").await.unwrap(), None);
        assert_eq!(store.customer(id).await.unwrap().unwrap().data["balance"], "0");
        assert!(matches!(store.update_customer(999, &changed).await, Err(StoreError::NotFound(_))));

        let bad = NewCustomer { name: " ".into(), ..ann() };
        assert!(matches!(store.add_customer(&bad).await, Err(StoreError::Invalid(_))));
        let bad = NewCustomer { data: BTreeMap::from([("a b".to_string(), "1".to_string())]), account: None, ..ann() };
        assert!(matches!(store.add_customer(&bad).await, Err(StoreError::Invalid(_))));

        store.delete_customer(id).await.unwrap();
        assert!(matches!(store.delete_customer(id).await, Err(StoreError::NotFound(_))));
        assert_eq!(store.customer_by_phone("200").await.unwrap(), None);
        assert!(store.list_customers().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn csv_import_reports_lines_and_upserts() {
        let (_d, store) = crate::store::test_store().await;
        let csv = "Name,Account,Phones,Tags,Notes,Balance,Plan\n\
                   Ann,1234,+15551234567;1001,vip,\"likes \"\"email\"\", not calls\",42.17,gold\n\
                   ,999,,,,,\n\
                   Bob,,555 0100,,\"two\nlines\",,\n\
                   Cy,12 34,,,,,\n\
                   short,row\n\
                   Ann Again,1234,,,,50.00,\n";
        let r = store.import_customers_csv(csv).await.unwrap();
        assert_eq!((r.added, r.updated), (2, 1), "{r:?}");
        let lines: Vec<usize> = r.errors.iter().map(|e| e.0).collect();
        assert_eq!(lines, [3, 6, 7], "{r:?}");
        assert!(r.errors[0].1.contains("name"), "{r:?}");
        let ann = store.customer_by_account("1234").await.unwrap().unwrap();
        assert_eq!(ann.name, "Ann Again");
        assert_eq!(ann.data.get("balance").map(String::as_str), Some("50.00"));
        assert_eq!(ann.phones, Vec::<String>::new(), "an update replaces the phone list");
        let bob = store.customer_by_phone("5550100").await.unwrap().unwrap();
        assert_eq!(bob.notes, "two\nlines");
        assert_eq!(bob.account, None);

        let r = store.import_customers_csv("account\n1\n").await.unwrap();
        assert_eq!(r.errors, [(1, "header has no \"name\" column".to_string())]);
        let r = store.import_customers_csv("name\n\"open\n").await.unwrap();
        assert!(r.errors[0].1.contains("unterminated"), "{r:?}");
        assert_eq!(r.errors[0].0, 2, "the line the broken quote opens on");
    }

    #[test]
    fn validation_names_the_field() {
        let field = |c: NewCustomer| validate_customer(&c).unwrap_err().field;
        assert_eq!(validate_customer(&ann()), Ok(()));
        assert_eq!(field(NewCustomer { name: "".into(), ..ann() }), "name");
        assert_eq!(field(NewCustomer { account: Some("a b".into()), ..ann() }), "account");
        assert_eq!(field(NewCustomer { phones: vec!["x".into()], ..ann() }), "phones");
        assert_eq!(field(NewCustomer { data: BTreeMap::from([("a-b".to_string(), String::new())]), ..ann() }), "fields");
    }

    #[tokio::test]
    async fn search_by_text_and_number_with_paging() {
        let (_d, store) = crate::store::test_store().await;
        let ann = store.add_customer(&ann()).await.unwrap();
        let bob = store
            .add_customer(&NewCustomer { name: "Bob 100%".into(), phones: vec!["+44 20 7946 0958".into()], notes: "prefers_email".into(), ..NewCustomer::default() })
            .await
            .unwrap();
        let cy = store.add_customer(&NewCustomer { name: "Cy".into(), tags: "VIP".into(), ..NewCustomer::default() }).await.unwrap();
        let ids = |r: (Vec<Customer>, i64)| (r.0.into_iter().map(|c| c.id).collect::<Vec<_>>(), r.1);
        assert_eq!(ids(store.search_customers("", 10, 0).await.unwrap()), (vec![ann, bob, cy], 3));
        assert_eq!(ids(store.search_customers("", 2, 1).await.unwrap()), (vec![bob, cy], 3), "paged, total of all matches");
        assert_eq!(ids(store.search_customers("ann EX", 10, 0).await.unwrap()), (vec![ann], 1), "case-insensitive name");
        assert_eq!(ids(store.search_customers("vip", 10, 0).await.unwrap()), (vec![ann, cy], 2), "tags");
        assert_eq!(ids(store.search_customers("1234", 10, 0).await.unwrap()), (vec![ann], 1), "account and number");
        assert_eq!(ids(store.search_customers("(555) 123", 10, 0).await.unwrap()), (vec![ann], 1), "number in any notation");
        assert_eq!(ids(store.search_customers("7946", 10, 0).await.unwrap()), (vec![bob], 1));
        assert_eq!(ids(store.search_customers("100%", 10, 0).await.unwrap()), (vec![bob], 1), "% is literal");
        assert_eq!(ids(store.search_customers("n_E", 10, 0).await.unwrap()), (vec![], 0), "_ is literal (would match \"Ann Example\")");
        assert_eq!(ids(store.search_customers("prefers_email", 10, 0).await.unwrap()), (vec![bob], 1), "notes");
        let page = store.search_customers("ann", 10, 0).await.unwrap().0;
        assert_eq!(page[0].phones, ["+15551234567", "1001"], "phones hydrated");
    }
}
