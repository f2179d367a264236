//! `switchboard health`: asks the running appliance's console for
//! `/healthz` on the configured address, so scripts (the image's boot
//! check and banner) need neither curl nor knowledge of the config file.
//! `--ports` only prints the configured listen ports, one `name=port` per
//! line, for the same scripts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use switchboard::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub async fn health(config: &Config, ports: bool) -> Result<()> {
    if ports {
        println!("http={}", config.http.listen.port());
        if let Some(l) = config.http.tls_listen {
            println!("https={}", l.port());
        }
        println!("sip={}", config.sip.listen.port());
        if let Some(l) = config.sip.tls_listen {
            println!("sips={}", l.port());
        }
        return Ok(());
    }
    let addr = loopback_for(config.http.listen);
    let body = tokio::time::timeout(Duration::from_secs(5), get_healthz(addr))
        .await
        .with_context(|| format!("{addr}: no answer within 5 s"))??;
    println!("{addr}: {body}");
    Ok(())
}

/// A wildcard listen address is reached through loopback.
fn loopback_for(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

async fn get_healthz(addr: SocketAddr) -> Result<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("{addr}: cannot connect"))?;
    s.write_all(format!("GET /healthz HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut reply = Vec::new();
    s.take(64 * 1024).read_to_end(&mut reply).await?;
    let text = String::from_utf8_lossy(&reply);
    let status = text.lines().next().unwrap_or_default();
    if !status.split_whitespace().nth(1).is_some_and(|c| c == "200") {
        bail!("{addr}: unhealthy: {status}");
    }
    Ok(text.split("\r\n\r\n").nth(1).unwrap_or_default().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_is_probed_on_loopback() {
        assert_eq!(loopback_for("0.0.0.0:8080".parse().unwrap()), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(loopback_for("[::]:80".parse().unwrap()), "[::1]:80".parse().unwrap());
        assert_eq!(loopback_for("10.1.2.3:8080".parse().unwrap()), "10.1.2.3:8080".parse().unwrap());
    }
}
