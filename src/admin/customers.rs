//! The customer table: the JSON shapes, search paging, partial updates and
//! the CSV import report that `customer add|import` and
//! `/api/v1/customers` share. The CSV format and phone normalisation are
//! the store's (`Store::import_customers_csv`); this file only reports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{nullable, AdminError};
use crate::store::{validate_customer, Customer, ImportReport, NewCustomer, Store};

/// Customers per page when the caller does not say.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page: each row costs a phone-list query.
pub const MAX_LIMIT: i64 = 1000;

/// A customer as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerView {
    pub id: i64,
    pub name: String,
    pub account: Option<String>,
    /// Normalised: digits with an optional leading '+'.
    pub phones: Vec<String>,
    pub tags: String,
    pub notes: String,
    /// Extra fields (`balance`, ...), read in the dialplan as `${customer_<name>}`.
    pub fields: BTreeMap<String, String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// What creating or changing a customer takes. Creation needs `name`; a
/// change keeps the fields not given (`account: null` removes the account
/// number). `phones` and `fields` are replaced whole when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub account: Option<Option<String>>,
    /// Any notation ("+1 (555) 123-4567").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phones: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

/// Which customers to list: `q` searches name, account, tags, notes and
/// (when it looks like a number) phone numbers; `phone` is the lookup a
/// call from that number makes (at most one customer). Not both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    pub q: Option<String>,
    pub phone: Option<String>,
    /// 1 to [`MAX_LIMIT`]; default [`DEFAULT_LIMIT`].
    pub limit: Option<i64>,
    /// Matches to skip; default 0.
    pub offset: Option<i64>,
}

/// One page of matches, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPage {
    pub customers: Vec<CustomerView>,
    /// Matches in all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// What a CSV import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportResult {
    /// New customers.
    pub imported: usize,
    /// Rows whose account existed: that customer was replaced.
    pub updated: usize,
    /// Rows refused (a file-level error, such as a missing header, counts as one).
    pub rejected: usize,
    /// Why, by line of the file (1 is the header).
    pub errors: Vec<LineError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineError {
    pub line: usize,
    pub error: String,
}

impl ImportResult {
    /// Errors and nothing written: the import failed as a whole (the CLI
    /// exits 1).
    pub fn nothing_imported(&self) -> bool {
        !self.errors.is_empty() && self.imported + self.updated == 0
    }
}

impl From<ImportReport> for ImportResult {
    fn from(r: ImportReport) -> ImportResult {
        ImportResult {
            imported: r.added,
            updated: r.updated,
            rejected: r.errors.len(),
            errors: r.errors.into_iter().map(|(line, error)| LineError { line, error }).collect(),
        }
    }
}

fn view(c: Customer) -> CustomerView {
    CustomerView { id: c.id, name: c.name, account: c.account, phones: c.phones, tags: c.tags, notes: c.notes, fields: c.data, created_at: c.created_at }
}

/// Applies the given fields over `c` and checks the result.
fn apply(c: &mut NewCustomer, i: CustomerInput) -> Result<(), AdminError> {
    if let Some(n) = i.name {
        c.name = n;
    }
    if let Some(a) = i.account {
        c.account = a;
    }
    if let Some(p) = i.phones {
        c.phones = p;
    }
    if let Some(t) = i.tags {
        c.tags = t;
    }
    if let Some(n) = i.notes {
        c.notes = n;
    }
    if let Some(f) = i.fields {
        c.data = f;
    }
    Ok(validate_customer(c)?)
}

pub async fn search_customers(store: &Store, q: CustomerQuery) -> Result<CustomerPage, AdminError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AdminError::invalid("limit", format!("limit must be 1 to {MAX_LIMIT}, got {limit}")));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(AdminError::invalid("offset", format!("offset must not be negative, got {offset}")));
    }
    let (customers, total) = match (q.q, q.phone) {
        (Some(_), Some(_)) => return Err(AdminError::invalid("phone", "give q or phone, not both")),
        (_, Some(phone)) => {
            let found: Vec<Customer> = store.customer_by_phone(&phone).await?.into_iter().collect();
            let total = found.len() as i64;
            (found.into_iter().skip(offset as usize).collect(), total)
        }
        (text, None) => store.search_customers(text.as_deref().unwrap_or(""), limit, offset).await?,
    };
    Ok(CustomerPage { customers: customers.into_iter().map(view).collect(), total, limit, offset })
}

pub async fn get_customer(store: &Store, id: i64) -> Result<CustomerView, AdminError> {
    store.customer(id).await?.map(view).ok_or_else(|| AdminError::NotFound(format!("customer {id}")))
}

/// `customer add`: the name is required.
pub async fn create_customer(store: &Store, i: CustomerInput) -> Result<CustomerView, AdminError> {
    if i.name.is_none() {
        return Err(AdminError::invalid("name", "a customer needs a name"));
    }
    let mut c = NewCustomer::default();
    apply(&mut c, i)?;
    let id = store.add_customer(&c).await?;
    get_customer(store, id).await
}

pub async fn update_customer(store: &Store, id: i64, i: CustomerInput) -> Result<CustomerView, AdminError> {
    let old = store.customer(id).await?.ok_or_else(|| AdminError::NotFound(format!("customer {id}")))?;
    let mut c = NewCustomer { name: old.name, account: old.account, phones: old.phones, tags: old.tags, notes: old.notes, data: old.data };
    apply(&mut c, i)?;
    store.update_customer(id, &c).await?;
    get_customer(store, id).await
}

pub async fn delete_customer(store: &Store, id: i64) -> Result<(), AdminError> {
    Ok(store.delete_customer(id).await?)
}

/// `customer import`: CSV with a header row (see `Store::import_customers_csv`).
pub async fn import_customers(store: &Store, csv: &str) -> Result<ImportResult, AdminError> {
    Ok(store.import_customers_csv(csv).await?.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn crud_search_and_import() {
        let (_d, store) = crate::store::test_store().await;
        let missing = create_customer(&store, CustomerInput::default()).await;
        assert!(matches!(missing, Err(AdminError::Invalid { field: "name", .. })), "{missing:?}");
        let input: CustomerInput =
            serde_json::from_str(r#"{"name": "Ann", "account": "A-1", "phones": ["+1 (555) 123-4567"], "fields": {"balance": "4"}}"#).unwrap();
        let ann = create_customer(&store, input.clone()).await.unwrap();
        assert_eq!((ann.phones.clone(), ann.fields["balance"].as_str()), (vec!["+15551234567".to_string()], "4"));
        assert!(matches!(create_customer(&store, input).await, Err(AdminError::Conflict(m)) if m == "account A-1 already exists"));

        let v = update_customer(&store, ann.id, serde_json::from_str(r#"{"tags": "vip", "account": null}"#).unwrap()).await.unwrap();
        assert_eq!((v.tags.as_str(), v.account.clone(), v.phones.len(), v.name.as_str()), ("vip", None, 1, "Ann"), "others kept");
        let bad = update_customer(&store, ann.id, serde_json::from_str(r#"{"fields": {"a b": "1"}}"#).unwrap()).await;
        assert!(matches!(bad, Err(AdminError::Invalid { field: "fields", .. })), "{bad:?}");
        assert!(matches!(update_customer(&store, 999, CustomerInput::default()).await, Err(AdminError::NotFound(_))));

        let r = import_customers(&store, "name,account,phones\nBob,B-2,5550100\n,x,\nbad,a b,\n").await.unwrap();
        assert_eq!((r.imported, r.updated, r.rejected), (1, 0, 2));
        assert_eq!(r.errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 4]);
        assert!(!r.nothing_imported());
        assert!(import_customers(&store, "nope\nx\n").await.unwrap().nothing_imported());

        let page = |q: CustomerQuery| {
            let store = store.clone();
            async move { search_customers(&store, q).await }
        };
        let all = page(CustomerQuery::default()).await.unwrap();
        assert_eq!((all.total, all.limit, all.customers.len()), (2, DEFAULT_LIMIT, 2));
        let p = page(CustomerQuery { limit: Some(1), offset: Some(1), ..CustomerQuery::default() }).await.unwrap();
        assert_eq!((p.total, p.customers[0].name.as_str()), (2, "Bob"));
        let p = page(CustomerQuery { phone: Some("(555) 123-4567".into()), ..CustomerQuery::default() }).await.unwrap();
        assert_eq!((p.total, p.customers[0].id), (1, ann.id), "the lookup a call makes");
        let p = page(CustomerQuery { q: Some("bo".into()), ..CustomerQuery::default() }).await.unwrap();
        assert_eq!(p.total, 1);
        for (q, want) in [
            (CustomerQuery { limit: Some(0), ..CustomerQuery::default() }, "limit"),
            (CustomerQuery { limit: Some(MAX_LIMIT + 1), ..CustomerQuery::default() }, "limit"),
            (CustomerQuery { offset: Some(-1), ..CustomerQuery::default() }, "offset"),
            (CustomerQuery { q: Some("a".into()), phone: Some("1".into()), ..CustomerQuery::default() }, "phone"),
        ] {
            assert!(matches!(page(q).await, Err(AdminError::Invalid { field, .. }) if field == want), "{want}");
        }

        delete_customer(&store, ann.id).await.unwrap();
        assert!(matches!(get_customer(&store, ann.id).await, Err(AdminError::NotFound(_))));
    }
}
