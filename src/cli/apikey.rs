//! Handlers for `apikey add|list|rm`: API keys for programs using the HTTP
//! API (CTI events, statistics). The clear key is printed once at creation
//! and never again; must not print or log it anywhere else.

use std::path::Path;

use anyhow::Result;
use switchboard::dialplan::Civil;

use super::admin::open;
use super::ApiKeyCmd;

fn utc(unix: i64) -> String {
    let t = Civil::from_unix(unix, 0);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

pub async fn apikey(cmd: ApiKeyCmd, data: &Path) -> Result<()> {
    match cmd {
        ApiKeyCmd::Add { name, scopes } => {
            let key = open(data).await?.create_api_key(&name, &scopes).await?;
            println!("API key {name} added. The key (shown only now; it cannot be shown again):");
            println!("{key}");
            Ok(())
        }
        ApiKeyCmd::List => {
            let store = open(data).await?;
            println!("{:<24} {:<10} {:<28} {:<20} LAST USED (UTC)", "NAME", "PREFIX", "SCOPES", "CREATED (UTC)");
            for k in store.list_api_keys().await? {
                println!(
                    "{:<24} {:<10} {:<28} {:<20} {}",
                    k.name,
                    k.prefix,
                    k.scopes.join(","),
                    utc(k.created_at),
                    k.last_used_at.map(utc).unwrap_or_else(|| "never".into())
                );
            }
            Ok(())
        }
        ApiKeyCmd::Rm { name } => {
            open(data).await?.remove_api_key(&name).await?;
            println!("API key {name} removed");
            Ok(())
        }
    }
}
