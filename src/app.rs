//! Wiring of the running appliance: store, TLS certificate, SIP endpoint,
//! call core, trunk supervision and web console, started in that order and stopped on
//! SIGINT/SIGTERM, or on the console's "Restart now" (the process then
//! ends with [`RESTART_EXIT_CODE`] for its supervisor to start it again).
//! The only place that knows every subsystem.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::sync::mpsc;

use crate::call::{self, Ctx};
use crate::config::{Config, ConfigSource};
use crate::media::prompt::PromptStore;
use crate::media::PortAllocator;
use crate::sip::auth::{DigestServer, FailureTracker};
use crate::sip::endpoint::Endpoint;
use crate::sip::transaction::TimerConfig;
use crate::store::Store;

/// The exit status after the console asked for a restart (EX_TEMPFAIL):
/// systemd's `Restart=on-failure` (or `RestartForceExitStatus=75`) starts
/// the appliance again, which applies saved settings and a staged restore.
pub const RESTART_EXIT_CODE: u8 = 75;

static RESTART_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether [`run`] returned because the console asked for a restart.
pub fn restart_requested() -> bool {
    RESTART_REQUESTED.load(Ordering::SeqCst)
}

/// Runs until interrupted or asked to restart. `source` is where `config`
/// came from (the file the console's settings page writes); `restored`
/// a backup applied just before (see `crate::backup::apply_pending`).
pub async fn run(config: Config, data: &Path, source: ConfigSource, restored: Option<crate::backup::Applied>) -> Result<()> {
    init_tracing();
    let store = Store::open(data).await.with_context(|| format!("opening {}", data.display()))?;
    if let Some(r) = &restored {
        // Sessions come from another time or appliance: everyone logs in again.
        let ended = store.end_all_sessions().await?;
        store.audit("system", "backup.restored", &r.manifest.created_at, &format!("{}; {ended} console sessions ended", r.describe()), "").await?;
        tracing::info!("{}", r.describe());
    }
    let key = crate::store::server_key(&store).await?;
    let ports = PortAllocator::new(config.rtp.bind, config.rtp.port_min..=config.rtp.port_max)
        .context("RTP port range")?;
    let prompts = Arc::new(PromptStore::new(config.media.prompts_dir.clone(), config.media.language.clone()));
    // Decode every prompt once at start (blocking work, off the runtime's
    // worker threads), so calls never wait for a decoder.
    let preload = prompts.clone();
    let loaded = tokio::task::spawn_blocking(move || preload.preload(&[crate::call::apps::PROMPT_RATE])).await.unwrap_or(0);
    if loaded == 0 {
        tracing::warn!(dir = %config.media.prompts_dir.join(&config.media.language).display(), "no prompts found: applications will play silence");
    }
    let moh = Arc::new(crate::media::moh::MohRegistry::new(config.media.moh_dir.clone()));
    let (class, rate) = (config.media.moh_class.clone(), crate::call::bridge_rate());
    let moh_load = moh.clone();
    let _ = tokio::task::spawn_blocking(move || moh_load.class(&class, rate)).await;
    let (dialplan, loaded) = crate::dialplan::live::LivePlan::start(&config.dialplan.dir);
    match loaded {
        Ok(()) => tracing::info!(dir = %config.dialplan.dir.display(), entries = dialplan.get().entries.len(), "dialplan loaded"),
        Err(errors) => {
            for e in &errors {
                tracing::error!("dialplan: {e}");
            }
            tracing::error!("dialplan not loaded: calls are routed without it until the files are fixed");
        }
    }
    let (acd, acd_rx) = crate::call::acd::channel();
    let events = crate::cti::EventBus::default();
    let (core_tx, core_rx) = mpsc::unbounded_channel();
    // The server certificate (generated at first start) for SIP over TLS and the HTTPS console.
    let tls_dir = data.join("tls");
    let (tls, _) = crate::tls::ServerCert::open(&tls_dir).with_context(|| format!("TLS certificate in {}", tls_dir.display()))?;
    let sip_tls = match config.sip.tls_listen {
        // A phone is reached only over its own TLS connection: keep a quiet
        // one open past the longest registration interval.
        Some(addr) => {
            let idle = std::time::Duration::from_secs(u64::from(config.sip.max_expires) + 120);
            Some(crate::sip::endpoint::TlsListen { addr, config: tls.server_config(&[])?, idle })
        }
        None => None,
    };
    let guard = crate::sip::guard::SharedGuard::new(&config.sip.guard_config());
    let endpoint = Endpoint::start_with_tls(config.sip.listen, sip_tls, TimerConfig::default(), core_tx, Some(guard.clone())).await?;
    // No default password: while no admin exists, a fresh one-time link (the
    // previous one stops working) is the only way in. Made before the console
    // port opens, so a `setup-link` run as soon as the port answers is not
    // replaced by this one.
    let setup_token = store.create_setup_token(crate::store::SETUP_LINK_SECS).await?;
    let http = crate::web::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen on {} for the web console", config.http.listen))?;
    let https = match config.http.tls_listen {
        Some(addr) => {
            let listener = crate::web::bind(addr).await.with_context(|| format!("cannot listen on {addr} for the web console over HTTPS"))?;
            Some(crate::web::https::TlsListener::new(listener, tls.server_config(&[b"http/1.1"])?)?)
        }
        None => None,
    };
    let digest = DigestServer::new(config.sip.realm.clone(), key, config.sip.nonce_lifetime_secs)
        .with_algorithms(&config.sip.algorithms());
    let failures = FailureTracker::new(config.sip.auth_max_failures, 60);
    let ctx = Arc::new(Ctx {
        config: config.clone(),
        endpoint: endpoint.clone(),
        store: store.clone(),
        ports,
        digest: Mutex::new(digest),
        failures: Mutex::new(failures),
        guard,
        active_calls: AtomicUsize::new(0),
        prompts,
        moh,
        rooms: Default::default(),
        calls: Default::default(),
        data_dir: data.to_path_buf(),
        dialplan,
        mwi: Default::default(),
        acd: Some(acd),
        events: events.clone(),
        fax_jobs: Default::default(),
        refused: Default::default(),
    });
    crate::call::acd::spawn(ctx.clone(), acd_rx);
    // Calls cut off by a crash never wrote their end; run_core is not
    // running yet, so every open record here is such a call's.
    match store.close_call_records_left_open().await {
        Ok(n) if n > 0 => tracing::warn!(records = n, "call records of calls the last run cut off closed"),
        Ok(_) => {}
        Err(e) => tracing::warn!("open call records not closed: {e}"),
    }
    // Chats open when the last run stopped cannot go on (their sessions are gone).
    match store.close_open_chats(crate::store::unix_ms()).await {
        Ok(n) if n > 0 => tracing::info!(chats = n, "web chats left open by the last run closed"),
        Ok(_) => {}
        Err(e) => tracing::warn!("open chats not closed: {e}"),
    }
    let chats = crate::chat::ChatHub::new(config.contact.clone(), store.clone(), events.clone(), ctx.acd.clone());
    tokio::spawn(call::run_core(ctx.clone(), core_rx));
    tokio::spawn(call::trunks::supervise(ctx.clone()));
    tokio::spawn(watch_dialplan(ctx.clone()));
    crate::fax::library::seed(&ctx.data_dir, &config.fax, &config.dialplan.dir);
    tokio::spawn(call::fax_job::run(ctx.clone()));
    let restart = Arc::new(tokio::sync::Notify::new());
    let https_addr = https.as_ref().and_then(|l| axum::serve::Listener::local_addr(l).ok());
    let status = Status { ctx: ctx.clone(), chats, source: source.clone(), restart: restart.clone(), tls: tls.clone() };
    tokio::spawn(async move {
        if let Err(e) = crate::web::serve_all(http, https, status).await {
            tracing::error!("web console stopped: {e}");
        }
    });

    let sip = endpoint.local_addr();
    println!("switchboard {} running", env!("CARGO_PKG_VERSION"));
    println!("  SIP      {sip} (UDP and TCP), realm \"{}\"", config.sip.realm);
    if let Some(a) = endpoint.tls_local_addr() {
        println!("  SIP TLS  {a}");
    }
    println!("  console  http://{}/", config.http.listen);
    if let Some(a) = https_addr {
        println!("  HTTPS    https://{a}/");
    }
    println!("  TLS      {} (SHA-256 {})", tls_dir.join(crate::tls::CERT_FILE).display(), tls.info().fingerprint_sha256);
    println!("  RTP      {}-{} on {}", config.rtp.port_min, config.rtp.port_max, config.rtp.bind);
    println!("  data     {}", data.display());
    println!("  config   {}", source.label());
    if let Some(token) = setup_token {
        println!("No console administrator yet. Create one with this one-time link (valid 24 hours):");
        println!("  {}/setup/{token}", config.http.console_base());
        if config.http.listen.ip().is_unspecified() {
            println!("  (on this machine: http://127.0.0.1:{}/setup/{token})", config.http.listen.port());
        }
    }
    if store.list_extensions().await?.is_empty() {
        let exe = std::env::args().next().unwrap_or_else(|| "switchboard".into());
        let at = if sip.ip().is_unspecified() {
            format!("this machine's address, port {}", sip.port())
        } else {
            sip.to_string()
        };
        println!("No extensions yet. Add one (no default passwords exist):");
        println!("  {exe} --data {} extension add 1001 --secret 'a-long-secret' --name 'First Agent'", data.display());
        println!("then register a SIP phone as user 1001 with that secret at {at}.");
    }
    tokio::select! {
        _ = shutdown_signal() => println!("switchboard stopping"),
        _ = restart.notified() => {
            RESTART_REQUESTED.store(true, Ordering::SeqCst);
            println!("switchboard stopping to restart (exit code {RESTART_EXIT_CODE})");
        }
    }
    Ok(())
}

struct Status {
    ctx: Arc<Ctx>,
    chats: crate::chat::ChatHub,
    source: ConfigSource,
    restart: Arc<tokio::sync::Notify>,
    tls: Arc<crate::tls::ServerCert>,
}

impl crate::web::CoreApi for Status {
    fn contact(&self) -> Option<crate::chat::ChatHub> {
        Some(self.chats.clone()).filter(|c| c.config().enabled)
    }
    fn console_store(&self) -> Option<crate::store::Store> {
        Some(self.ctx.store.clone())
    }
    fn agent_call(&self, agent: String, last: bool) -> Option<String> {
        if last {
            self.ctx.calls.last_peer(&agent)
        } else {
            self.ctx.calls.peer(&agent)
        }
    }
    fn sip_realm(&self) -> String {
        self.ctx.config.sip.realm.clone()
    }
    fn data_dir(&self) -> Option<std::path::PathBuf> {
        Some(self.ctx.data_dir.clone())
    }
    fn fax_send(&self, upload: crate::fax::library::Upload) -> crate::web::BoxFuture<Result<i64, crate::fax::library::SendError>> {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let id = crate::fax::library::queue_upload(&ctx.store, &ctx.data_dir, &ctx.config.fax, upload).await?;
            ctx.fax_jobs.wake();
            Ok(id)
        })
    }
    fn voicemail_config(&self) -> crate::config::VoicemailConfig {
        self.ctx.config.voicemail.clone()
    }
    fn console_config(&self) -> Option<crate::web::ConsoleConfig> {
        let c = &self.ctx.config;
        Some(crate::web::ConsoleConfig {
            dialplan_dir: c.dialplan.dir.clone(),
            prompts_dir: c.media.prompts_dir.clone(),
            language: c.media.language.clone(),
            trunk_options: c.trunks.options_interval_secs > 0,
            timezone: c.site.timezone.clone(),
        })
    }
    fn prompt_changed(&self, language: String, name: String) {
        if language == self.ctx.prompts.lang() {
            self.ctx.prompts.forget(&name);
        }
    }
    fn tls(&self) -> Option<Arc<crate::tls::ServerCert>> {
        Some(self.tls.clone())
    }
    fn sip_bans(&self, top: usize) -> Option<crate::web::SipBans> {
        let report = self.ctx.guard.report(top);
        let secs = |ms: u64| i64::try_from(ms / 1000).unwrap_or(i64::MAX);
        Some(crate::web::SipBans {
            bans: report
                .bans
                .into_iter()
                .map(|b| crate::web::SipBan {
                    address: b.address,
                    since: secs(b.since_ms),
                    until: secs(b.until_ms),
                    reason: b.reason.as_str().to_string(),
                    failures: b.failures,
                })
                .collect(),
            offenders: report
                .offenders
                .into_iter()
                .map(|o| crate::web::SipOffender { address: o.address, failures: o.failures, last: secs(o.last_ms) })
                .collect(),
        })
    }
    fn lift_sip_ban(&self, address: std::net::IpAddr) -> Option<bool> {
        Some(self.ctx.guard.lift(address))
    }
    fn status_lines(&self) -> Vec<String> {
        vec![
            format!("SIP listening on {}", self.ctx.endpoint.local_addr()),
            format!("SIP over TLS: {}", self.ctx.endpoint.tls_local_addr().map(|a| a.to_string()).unwrap_or_else(|| "off".into())),
            format!("active calls: {}", self.ctx.active_calls.load(Ordering::Relaxed)),
            format!("media ports in use: {}", self.ctx.ports.in_use()),
        ]
    }
    fn live_calls(&self) -> Vec<String> {
        self.ctx.calls.list()
    }
    fn recording(&self, call_id: String, action: String) -> crate::web::BoxFuture<Result<(), String>> {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let action: crate::call::RecordingAction = action.parse()?;
            ctx.calls.recording(&call_id, action).await
        })
    }
    fn conference(&self, call_id: String, action: String, to: Option<String>) -> crate::web::BoxFuture<Result<(), String>> {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let action = crate::call::ConferenceAction::parse(&action, to.as_deref())?;
            ctx.calls.conference(&call_id, action).await
        })
    }
    fn events(&self) -> tokio::sync::broadcast::Receiver<Arc<crate::cti::CtiEvent>> {
        self.ctx.events.subscribe()
    }
    fn verify_api_key(&self, key: String) -> crate::web::BoxFuture<Option<(String, Vec<String>)>> {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            match ctx.store.verify_api_key(&key).await {
                Ok(k) => k.map(|k| (k.name, k.scopes)),
                // Refused (401) rather than failing open; logged so a broken
                // database is not mistaken for bad keys.
                Err(e) => {
                    tracing::warn!("API key check failed: {e}");
                    None
                }
            }
        })
    }
    fn acd_stats(&self) -> crate::web::BoxFuture<Option<serde_json::Value>> {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            match &ctx.acd {
                Some(acd) => acd.stats().await,
                None => None,
            }
        })
    }
    fn call_control(&self, call_id: String, action: String, to: Option<String>) -> crate::web::BoxFuture<Result<(), crate::web::ApiError>> {
        use crate::web::ApiError;
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let action = crate::call::CallControl::parse(&action, to.as_deref()).map_err(ApiError::Invalid)?;
            if !ctx.calls.list().contains(&call_id) {
                return Err(ApiError::NotFound(format!("no live call {call_id}")));
            }
            ctx.calls.control(&call_id, action).await.map_err(ApiError::Invalid)
        })
    }
    fn disposition(&self, call_id: String, code: String, notes: String) -> crate::web::BoxFuture<Result<(), crate::web::ApiError>> {
        use crate::web::ApiError;
        let ctx = self.ctx.clone();
        Box::pin(async move {
            match ctx.store.set_disposition(&call_id, &code, &notes).await {
                Ok(()) => Ok(()),
                Err(crate::store::StoreError::NotFound(m)) => Err(ApiError::NotFound(format!("{m} has no call record"))),
                Err(e) => Err(ApiError::Invalid(e.to_string())),
            }
        })
    }
    fn agent_op(&self, agent: String, op: String, reason: Option<String>) -> crate::web::BoxFuture<Result<(), crate::web::ApiError>> {
        use crate::web::ApiError;
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let op = match op.as_str() {
                "login" => crate::dialplan::AgentOp::Login,
                "logout" => crate::dialplan::AgentOp::Logout,
                "pause" => crate::dialplan::AgentOp::Pause,
                _ => crate::dialplan::AgentOp::Unpause,
            };
            let Some(acd) = ctx.acd.as_ref() else { return Err(ApiError::Invalid("the ACD is not running".into())) };
            acd.agent(&agent, op, reason).await.map(drop).map_err(ApiError::NotFound)
        })
    }
    fn acd_admin(&self, req: crate::admin::AcdRequest) -> crate::web::BoxFuture<Result<crate::admin::Reply, crate::admin::AdminError>> {
        // Store rows only: the ACD task picks them up on its next sync.
        let store = self.ctx.store.clone();
        Box::pin(async move { crate::admin::acd(&store, req).await })
    }
    fn customer_admin(&self, req: crate::admin::CustomerRequest) -> crate::web::BoxFuture<Result<crate::admin::Reply, crate::admin::AdminError>> {
        let store = self.ctx.store.clone();
        Box::pin(async move { crate::admin::customer(&store, req).await })
    }
    fn supervise(&self, agent: String, mode: String, supervisor: String) -> crate::web::BoxFuture<Result<(), crate::web::ApiError>> {
        use crate::call::supervisor::SuperviseError as E;
        use crate::web::ApiError;
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let mode: crate::dialplan::SuperviseMode = mode.parse().map_err(ApiError::Invalid)?;
            crate::call::supervisor::start(&ctx, &agent, mode, &supervisor).await.map_err(|e| match e {
                E::NotSupervisor(_) => ApiError::Forbidden(e.to_string()),
                E::NoCall(_) => ApiError::NotFound(e.to_string()),
                E::Busy { .. } | E::Unreachable { .. } | E::NoPorts => ApiError::Invalid(e.to_string()),
            })
        })
    }
    fn settings(&self) -> Option<crate::web::SettingsContext> {
        Some(crate::web::SettingsContext {
            running: self.ctx.config.clone(),
            source: self.source.clone(),
            data_dir: self.ctx.data_dir.clone(),
        })
    }
    fn restart(&self) -> bool {
        // A moment for the answer to reach the browser first.
        let restart = self.restart.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            restart.notify_one();
        });
        true
    }
    fn gauges(&self) -> crate::web::metrics::Gauges {
        use crate::call::admission::Refused;
        let refused = self.ctx.refused.lock().map(|r| *r).unwrap_or_default();
        crate::web::metrics::Gauges {
            active_calls: self.ctx.active_calls.load(Ordering::Relaxed),
            media_ports_in_use: self.ctx.ports.in_use(),
            refused_max_calls: refused.get(Refused::MaxCalls),
            refused_max_cps: refused.get(Refused::Rate),
            refused_backlog: refused.get(Refused::Backlog),
        }
    }
}

/// Hot reload: looks at the dialplan files every two seconds.
async fn watch_dialplan(ctx: Arc<Ctx>) {
    use crate::dialplan::live::Reload;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        tick.tick().await;
        let c = ctx.clone();
        match tokio::task::spawn_blocking(move || c.dialplan.check()).await {
            Ok(Reload::Swapped) => tracing::info!(entries = ctx.dialplan.get().entries.len(), "dialplan reloaded"),
            Ok(Reload::Rejected(errors)) => {
                for e in &errors {
                    tracing::error!("dialplan: {e}");
                }
                tracing::error!("dialplan edit rejected: the previous plan stays in force");
            }
            _ => {}
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).try_init();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
