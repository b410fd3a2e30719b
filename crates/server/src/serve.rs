//! Wiring and graceful shutdown: store → connectors → engine → outbox loops → HTTP.
//!
//! Shutdown order matters, and is this: stop accepting connections and let in-flight
//! requests finish (long polls answer at once); stop the scheduler (a run in progress is
//! finished and recorded, so none is half-submitted); stop the engine (queued events finish and
//! are committed); stop the outbox loops (each finishes the action in hand; the rest stay
//! persisted for the next start); close the store.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use qunzhu_connectors::HealthReport;
use qunzhu_connectors::bridge::BridgeConfig;
#[cfg(feature = "matrix")]
use qunzhu_connectors::matrix::MatrixConnector;
use qunzhu_connectors::onebot::{OnebotConnector, OnebotMode};
use qunzhu_connectors::outbox;
use qunzhu_connectors::sandbox::SandboxConnector;
use qunzhu_connectors::telegram::{TelegramConnector, TelegramMode};
use qunzhu_connectors::wecom::WecomConnector;
use qunzhu_core::{Capabilities, Clock, Connector, ConnectorId, Event, Store, SystemClock};
use qunzhu_engine::{Engine, EngineError};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::config::{Config, ConnectorConfig};
use crate::http::{self, AppState};

/// How often the rulebook is re-read, so `qunzhu rules import` from another process takes
/// effect without a restart.
const RULEBOOK_RELOAD: Duration = Duration::from_secs(5);

/// How often new staff tasks of WeCom groups are looked for, to send them to staff.
const WECOM_TASK_NOTICES: Duration = Duration::from_secs(2);
/// How often WeCom welcome templates are compared with the rulebook (a cheap check in memory).
const WECOM_WELCOME_CHECK: Duration = Duration::from_secs(2);

/// Opens the configured store: `database` when set, else SQLite at `<data_dir>/qunzhu.db`.
///
/// # Errors
/// When the data directory cannot be created or the database cannot be opened.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match config
        .database
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(url) => Ok(qunzhu_store::open(url).await?),
        None => {
            tokio::fs::create_dir_all(&config.data_dir)
                .await
                .with_context(|| {
                    format!(
                        "could not create the data directory {}",
                        config.data_dir.display()
                    )
                })?;
            Ok(qunzhu_store::open_sqlite_file(&config.data_dir.join("qunzhu.db")).await?)
        }
    }
}

/// Runs qunzhu on `listener` until `shutdown` completes, then stops gracefully.
///
/// # Errors
/// When the store cannot be opened, the engine cannot start, or the server fails.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Arc::new(SandboxConnector::with_clock(clock.clone()));
    let bridges: Vec<BridgeConfig> = config
        .connectors
        .iter()
        .filter_map(|connector| match connector {
            ConnectorConfig::Bridge(bridge) => Some(bridge.clone()),
            _ => None,
        })
        .collect();
    // Events of every live connection, in arrival order, into the engine.
    let (events, incoming) = mpsc::channel::<Event>(1024);
    let onebots: Vec<Arc<OnebotConnector>> = config
        .connectors
        .iter()
        .filter_map(|connector| match connector {
            ConnectorConfig::Onebot(onebot) => Some(OnebotConnector::new(onebot.clone(), events.clone())),
            _ => None,
        })
        .collect();
    #[cfg(feature = "matrix")]
    let matrices: Vec<Arc<MatrixConnector>> = config
        .connectors
        .iter()
        .filter_map(|connector| match connector {
            ConnectorConfig::Matrix(matrix) => Some(MatrixConnector::with_state_file(
                matrix.clone(),
                events.clone(),
                MatrixConnector::state_file_in(&config.data_dir, &matrix.id),
            )),
            _ => None,
        })
        .collect();
    let public_url = config.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(|u| u.trim_end_matches('/').to_owned());
    let telegrams: Vec<Arc<TelegramConnector>> = config
        .connectors
        .iter()
        .filter_map(|connector| match connector {
            ConnectorConfig::Telegram(telegram) => Some(TelegramConnector::build(
                telegram.clone(),
                events.clone(),
                Some(TelegramConnector::state_file_in(&config.data_dir, &telegram.id)),
                (telegram.mode == TelegramMode::Webhook)
                    .then(|| public_url.as_ref().map(|url| format!("{url}{}", telegram.webhook_path())))
                    .flatten(),
            )),
            _ => None,
        })
        .collect();
    let wecoms: Vec<Arc<WecomConnector>> = config
        .connectors
        .iter()
        .filter_map(|connector| match connector {
            ConnectorConfig::Wecom(wecom) => Some(WecomConnector::new(wecom.clone(), events.clone(), clock.clone(), Some(store.clone()))),
            _ => None,
        })
        .collect();
    drop(events);

    let mut capabilities: HashMap<ConnectorId, Capabilities> = HashMap::new();
    capabilities.insert(sandbox.id().clone(), sandbox.capabilities().clone());
    for bridge in &bridges {
        capabilities.insert(bridge.connector_id(), bridge.capabilities());
    }
    for onebot in &onebots {
        capabilities.insert(onebot.id().clone(), onebot.capabilities().clone());
        if crate::config::is_placeholder_token(onebot.config().access_token.expose()) {
            warn!(connector = %onebot.id(), "the OneBot access_token is still the placeholder; fine for a local trial, change it before exposing qunzhu");
        }
        if onebot.config().mode == OnebotMode::Http && onebot.config().event_secret().is_none() {
            warn!(connector = %onebot.id(), "OneBot http mode without `secret`: event POSTs are checked by access_token only; set the same secret on both sides to have them signed");
        }
    }
    #[cfg(feature = "matrix")]
    for matrix in &matrices {
        capabilities.insert(matrix.id().clone(), matrix.capabilities().clone());
    }
    for telegram in &telegrams {
        capabilities.insert(telegram.id().clone(), telegram.capabilities().clone());
    }
    for wecom in &wecoms {
        capabilities.insert(wecom.id().clone(), wecom.capabilities().clone());
    }
    for bridge in &bridges {
        if crate::config::is_placeholder_token(bridge.token.expose()) {
            warn!(connector = %bridge.id, "the bridge token is still the placeholder; fine for a local trial, change it before exposing qunzhu");
        }
    }
    let engine = Engine::start(store.clone(), clock.clone(), capabilities, config.engine_config())
        .await
        .context("could not start the engine")?;
    http::sandbox::attach(&engine, &sandbox);

    let (stop, stopped) = watch::channel(false);
    let mut workers = JoinSet::new();
    // Only push connectors get a delivery loop. Bridges pull their actions from the feed and
    // report outcomes; a loop would only race their reports (see `http::bridge`).
    workers.spawn(outbox::run(
        store.clone(),
        sandbox.clone(),
        clock.clone(),
        engine.outbox_changes(),
        stopped.clone(),
    ));
    // Staff alerts routed to webhooks (`staff_alerts`): POSTed from the outbox, with its retries.
    workers.spawn(outbox::run(
        store.clone(),
        Arc::new(qunzhu_connectors::webhook::WebhookConnector::new()),
        clock.clone(),
        engine.outbox_changes(),
        stopped.clone(),
    ));
    workers.spawn(reload_rulebook(engine.clone(), stopped.clone()));
    // Time-based work (scheduled posts…) as ticks; stopped before the engine so no run is cut
    // in half (a half-submitted run would be redone at the next start anyway: ticks dedupe).
    let (scheduler_stop, scheduler_stopped) = watch::channel(false);
    let scheduler = tokio::spawn(qunzhu_engine::scheduler::run(engine.clone(), scheduler_stopped));
    let (ingest_done, ingest_stop) = watch::channel(false);
    let ingest = tokio::spawn(ingest_events(engine.clone(), incoming, ingest_stop));
    let mut app_routes = Vec::new();
    for onebot in &onebots {
        workers.spawn(outbox::run(
            store.clone(),
            onebot.clone(),
            clock.clone(),
            engine.outbox_changes(),
            stopped.clone(),
        ));
        let client = onebot.clone();
        workers.spawn(async move { client.run().await });
        app_routes.extend(onebot.router());
    }

    #[cfg(feature = "matrix")]
    for matrix in &matrices {
        workers.spawn(outbox::run(
            store.clone(),
            matrix.clone(),
            clock.clone(),
            engine.outbox_changes(),
            stopped.clone(),
        ));
        let client = matrix.clone();
        workers.spawn(async move { client.run().await });
    }

    for telegram in &telegrams {
        workers.spawn(outbox::run(
            store.clone(),
            telegram.clone(),
            clock.clone(),
            engine.outbox_changes(),
            stopped.clone(),
        ));
        let client = telegram.clone();
        workers.spawn(async move { client.run().await });
        app_routes.push(telegram.router());
    }
    app_routes.push(http::telegram::router(engine.clone(), &telegrams));
    // WeCom: callbacks are queued for a worker (the route answers at once); staff tasks of
    // its groups go to the staff as app messages.
    for wecom in &wecoms {
        workers.spawn(outbox::run(
            store.clone(),
            wecom.clone(),
            clock.clone(),
            engine.outbox_changes(),
            stopped.clone(),
        ));
        let worker = wecom.clone();
        workers.spawn(async move { worker.run().await });
        let notifier = wecom.clone();
        let tasks = store.clone();
        workers.spawn(async move { notifier.notify_tasks(tasks, WECOM_TASK_NOTICES).await });
        if wecom.config().keep_welcome_template {
            workers.spawn(crate::wecom_welcome::keep_welcome_templates(engine.clone(), wecom.clone(), WECOM_WELCOME_CHECK, stopped.clone()));
        }
        app_routes.push(wecom.router());
    }
    app_routes.push(http::wecom::routes(store.clone(), wecoms.clone()));

    let mut health: Vec<(ConnectorId, Arc<dyn HealthReport>)> = onebots
        .iter()
        .map(|o| (o.id().clone(), o.clone() as Arc<dyn HealthReport>))
        .collect();
    #[cfg(feature = "matrix")]
    health.extend(matrices.iter().map(|m| (m.id().clone(), m.clone() as Arc<dyn HealthReport>)));
    health.extend(telegrams.iter().map(|t| (t.id().clone(), t.clone() as Arc<dyn HealthReport>)));
    health.extend(wecoms.iter().map(|w| (w.id().clone(), w.clone() as Arc<dyn HealthReport>)));
    let kinds = config.connectors.iter().map(|c| (ConnectorId::new(c.id()), c.kind())).collect();
    let mut state = AppState::new(engine.clone(), bridges, sandbox).with_health(health).with_connector_kinds(kinds);
    match (config.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()), listener.local_addr()) {
        (Some(url), _) => state = state.with_public_url(url),
        (None, Ok(address)) => state = state.with_public_url(&format!("http://{address}")),
        (None, Err(_)) => {}
    }
    let app = http::protect(
        state.clone(),
        app_routes.into_iter().fold(http::routes(state.clone()), axum::Router::merge),
    );
    warn_when_open(&state, &listener).await;
    match listener.local_addr() {
        Ok(address) => info!(
            %address,
            bridges = state.bridges.len(),
            "qunzhu is serving; try the sandbox at http://{address}/sandbox"
        ),
        Err(error) => warn!(%error, "qunzhu is serving, but its address is unknown"),
    }
    let stopping = state.clone();
    let closing = onebots.clone();
    let closing_telegrams = telegrams.clone();
    let closing_wecoms = wecoms.clone();
    #[cfg(feature = "matrix")]
    let closing_matrices = matrices.clone();
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            info!("shutting down: finishing requests in flight");
            stopping.begin_shutdown();
            for onebot in &closing {
                onebot.close();
            }
            for telegram in &closing_telegrams {
                telegram.close();
            }
            #[cfg(feature = "matrix")]
            for matrix in &closing_matrices {
                matrix.close();
            }
            for wecom in &closing_wecoms {
                wecom.close();
            }
        })
        .await;

    scheduler_stop.send_replace(true);
    if let Err(error) = scheduler.await {
        warn!(%error, "the scheduler ended abnormally");
    }
    // Connections are closed; what they delivered is queued: let it reach the engine.
    ingest_done.send_replace(true);
    if tokio::time::timeout(Duration::from_secs(10), ingest).await.is_err() {
        warn!("events from connections were still being processed at shutdown");
    }
    engine.shutdown().await;
    stop.send_replace(true);
    while let Some(joined) = workers.join_next().await {
        if let Err(error) = joined {
            warn!(%error, "a background task ended abnormally");
        }
    }
    store.close().await;
    info!("stopped; undelivered actions stay in the outbox for the next start");
    served.context("the HTTP server failed")
}

/// Without accounts the operator API is open (the first-run page creates the owner): fine on
/// loopback, worth a warning anywhere else.
async fn warn_when_open(state: &AppState, listener: &TcpListener) {
    let Ok(address) = listener.local_addr() else { return };
    match state.auth.accounts_exist().await {
        Ok(false) if !address.ip().is_loopback() => warn!(
            %address,
            "no dashboard account exists yet, so the operator API is open to anyone who can reach {address}; create the owner at /setup or with `qunzhu admin create NAME`"
        ),
        Ok(_) => {}
        Err(error) => warn!(%error, "could not check for dashboard accounts"),
    }
}

/// Submits connection events to the engine, in order; once `done`, submits what is queued
/// and stops. The inbox deduplicates, so a redelivered event is processed once.
async fn ingest_events(
    engine: Engine,
    mut incoming: mpsc::Receiver<Event>,
    mut done: watch::Receiver<bool>,
) {
    loop {
        let event = if *done.borrow_and_update() {
            incoming.try_recv().ok()
        } else {
            tokio::select! {
                biased;
                event = incoming.recv() => event,
                _ = done.changed() => continue,
            }
        };
        let Some(event) = event else { return };
        let id = event.origin.event_id.clone();
        match engine.submit(event).await {
            Ok(_) => {}
            Err(EngineError::ShuttingDown) => {
                warn!(event = %id, "event arrived while shutting down; not processed");
            }
            Err(error) => warn!(event = %id, %error, "event could not be processed"),
        }
    }
}

async fn reload_rulebook(engine: Engine, mut stopped: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(RULEBOOK_RELOAD);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
        match engine.reload_rulebook().await {
            Ok(true) => info!(
                version = engine.rulebook().version,
                "rulebook changed elsewhere; reloaded"
            ),
            Ok(false) => {}
            Err(error) => warn!(%error, "could not reload the rulebook; keeping the one in force"),
        }
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("Ctrl-C received"),
        () = terminate => info!("SIGTERM received"),
    }
}
