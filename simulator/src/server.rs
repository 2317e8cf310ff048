//! Starting and stopping the simulator: configuration, the shared application state, the
//! accept loop and the layer every request passes (request counting, fault injection and the
//! `Date` header from the simulator clock).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::clock::SimClock;
use crate::error::SimError;
use crate::faults::{Fault, FaultKind, Faults};
use crate::jwt::JwtKeys;
use crate::seed::Seed;
use crate::state::State as SimState;
use crate::stats::{Stats, StatsSnapshot};
use crate::time_fmt::http_date;

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on; must be a loopback address (default `127.0.0.1`).
    pub bind: IpAddr,
    /// Port; 0 (the default) picks a free one.
    pub port: u16,
    /// Initial data (default: the demo seed, [`Seed::demo`]).
    pub seed: Seed,
    /// Serve the test-only `/_sim/...` admin routes (default off: they answer 404).
    pub admin: bool,
    /// The clock to use (default: a new clock at real time). Pass your own clone to keep
    /// control of it.
    pub clock: SimClock,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            seed: Seed::demo(),
            admin: false,
            clock: SimClock::new(),
        }
    }
}

impl SimConfig {
    /// The defaults: `127.0.0.1`, a free port, the demo seed, admin routes off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `seed` instead of the demo seed.
    pub fn with_seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// Turns the `/_sim/...` admin routes on or off.
    pub fn with_admin(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }

    /// Listens on `port` (0 = any free port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Listens on `bind` (must be loopback).
    pub fn with_bind(mut self, bind: IpAddr) -> Self {
        self.bind = bind;
        self
    }

    /// Uses `clock` (keep a clone to move time from the test).
    pub fn with_clock(mut self, clock: SimClock) -> Self {
        self.clock = clock;
        self
    }
}

/// State shared by all requests.
pub(crate) struct App {
    pub(crate) clock: SimClock,
    pub(crate) keys: JwtKeys,
    state: Mutex<SimState>,
    stats: Mutex<Stats>,
    faults: Mutex<Faults>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state holds password hashes, TOTP secrets and live tokens: never print it.
        f.debug_struct("App")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, carrying on after a panic elsewhere: the simulator's state stays usable and
/// a test gets a real answer instead of a second panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    pub(crate) fn state(&self) -> MutexGuard<'_, SimState> {
        lock(&self.state)
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }
}

/// Per-connection switch used by the `drop` fault to close the socket without answering.
#[derive(Debug, Clone)]
pub(crate) struct ConnKill(Arc<Notify>);

/// A cheap, cloneable view of a running simulator: its URL, clock and counters.
#[derive(Debug, Clone)]
pub struct SimHandle {
    app: Arc<App>,
    addr: SocketAddr,
}

impl SimHandle {
    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The simulator clock (shared: moving it moves the server's time).
    pub fn clock(&self) -> &SimClock {
        &self.app.clock
    }

    /// Request counters since start or the last reset.
    pub fn stats(&self) -> StatsSnapshot {
        self.app.stats().snapshot()
    }

    /// Zeroes the request counters.
    pub fn reset_stats(&self) {
        self.app.stats().reset();
    }

    /// Queues a fault (see [`Fault`]); works whether or not the admin routes are on.
    pub fn inject_fault(&self, fault: Fault) {
        self.app.faults().add(fault);
    }

    /// Removes all queued faults.
    pub fn clear_faults(&self) {
        self.app.faults().clear();
    }
}

/// A simulator running as a task on the current tokio runtime. Dropping it stops it.
#[derive(Debug)]
pub struct RunningSimulator {
    handle: SimHandle,
    shutdown: Option<watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Starts a simulator on the current tokio runtime. It is listening when this returns.
pub async fn serve(config: SimConfig) -> Result<RunningSimulator, SimError> {
    if !config.bind.is_loopback() {
        return Err(SimError::NotLoopback(config.bind));
    }
    config.seed.validate()?;
    let listener = TcpListener::bind(SocketAddr::new(config.bind, config.port)).await?;
    let addr = listener.local_addr()?;
    let state = SimState::from_seed(&config.seed, config.clock.unix_millis());
    let app = Arc::new(App {
        clock: config.clock,
        keys: JwtKeys::random(),
        state: Mutex::new(state),
        stats: Mutex::new(Stats::default()),
        faults: Mutex::new(Faults::default()),
    });
    let mut router = crate::routes::api_router();
    if config.admin {
        router = router.merge(crate::admin::admin_router());
    }
    let router: Router = router
        .layer(middleware::from_fn_with_state(app.clone(), every_request))
        .with_state(app.clone());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, router, shutdown_rx));
    Ok(RunningSimulator {
        handle: SimHandle { app, addr },
        shutdown: Some(shutdown_tx),
        task: Some(task),
    })
}

impl RunningSimulator {
    /// A cloneable handle (URL, clock, counters, faults).
    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    /// Stops accepting, closes open connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Starts a simulator on a thread of its own (with its own single-threaded tokio runtime),
    /// for callers without a runtime, such as a GUI's demo mode or synchronous tests.
    pub fn spawn_blocking_thread(config: SimConfig) -> Result<SimulatorThread, SimError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("emnify-sim".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(SimError::Io(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match serve(config).await {
                        Ok(sim) => {
                            let _ = ready_tx.send(Ok(sim.handle()));
                            // Runs until told to stop or until the handle is dropped.
                            let _ = stop_rx.await;
                            sim.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        match ready_rx.recv() {
            Ok(Ok(handle)) => Ok(SimulatorThread {
                handle,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(SimError::Thread(
                "the simulator thread ended before starting".into(),
            )),
        }
    }
}

/// URL, clock, counters and faults of the simulator it runs ([`SimHandle`]'s methods).
impl std::ops::Deref for RunningSimulator {
    type Target = SimHandle;

    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

/// A simulator running on its own thread. Dropping it stops it (and waits for the thread).
#[derive(Debug)]
pub struct SimulatorThread {
    handle: SimHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// URL, clock, counters and faults of the simulator it runs ([`SimHandle`]'s methods).
impl std::ops::Deref for SimulatorThread {
    type Target = SimHandle;

    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

impl SimulatorThread {
    /// A cloneable handle (URL, clock, counters, faults).
    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    /// Stops the simulator and joins its thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SimulatorThread {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Accepts connections until shutdown. Each connection is served by hyper directly (rather
/// than `axum::serve`) so that the `drop` fault can close one socket mid-request.
async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let kill = Arc::new(Notify::new());
                let kill_ext = ConnKill(kill.clone());
                let service = router.clone().map_request(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.extensions_mut().insert(kill_ext.clone());
                    req
                });
                let mut conn_shutdown = shutdown.clone();
                conns.spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                    tokio::select! {
                        _ = conn => {}
                        _ = kill.notified() => {}
                        _ = conn_shutdown.changed() => {}
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// Runs around every request: counts it, applies a pending fault, and stamps the `Date`
/// header from the simulator clock (clients use it to correct clock drift).
async fn every_request(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let mut resp = if path == "/_sim" || path.starts_with("/_sim/") {
        next.run(req).await
    } else {
        app.stats().record(&method, &path);
        let fault = app.faults().take(&method, &path);
        match fault {
            None => next.run(req).await,
            Some(FaultKind::Drop) => match req.extensions().get::<ConnKill>() {
                Some(ConnKill(kill)) => {
                    kill.notify_one();
                    // The connection task drops this future together with the socket.
                    std::future::pending::<Response>().await
                }
                None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            },
            Some(kind) => fault_response(kind),
        }
    };
    if let Ok(date) = HeaderValue::from_str(&http_date(app.clock.unix_millis())) {
        resp.headers_mut().insert(header::DATE, date);
    }
    resp
}

fn fault_response(kind: FaultKind) -> Response {
    let (status, content_type, body) = match kind {
        FaultKind::Html => (
            StatusCode::OK,
            "text/html; charset=utf-8",
            "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\
             <body><h1>Bad Gateway</h1><p>The proxy could not reach the upstream server.</p></body></html>\n",
        ),
        FaultKind::Empty => (StatusCode::OK, "application/json", ""),
        FaultKind::InvalidJson => (
            StatusCode::OK,
            "application/json",
            "{\"auth_token\": \"eyJhbGciOi",
        ),
        FaultKind::Status500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/json",
            "{\"error_code\":500,\"error_token\":\"InternalServerError\",\"message\":\"Internal Server Error\"}",
        ),
        FaultKind::Drop => (StatusCode::INTERNAL_SERVER_ERROR, "text/plain", ""),
    };
    let mut resp = (status, Body::from(body)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
