//! The admin API (clock, stats, faults), its absence when off, the binary and the
//! thread-based embedding.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use emnify_sim::{Fault, FaultKind, RunningSimulator, SimConfig};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn admin_routes_are_404_when_admin_is_off() {
    let s = start_with(SimConfig::new()).await;
    for (method, path) in [
        (Method::GET, "/_sim/clock"),
        (Method::POST, "/_sim/clock"),
        (Method::GET, "/_sim/stats"),
        (Method::POST, "/_sim/stats/reset"),
        (Method::POST, "/_sim/fault"),
        (Method::GET, "/_sim/fault"),
    ] {
        let r = s
            .request(
                method.clone(),
                path,
                None,
                Some(json!({ "advance_secs": 3600 })),
            )
            .await;
        assert_eq!(r.status, 404, "{method} {path}");
    }
    // Nothing moved.
    assert!(s.clock().offset_millis().abs() < 1000);
}

#[tokio::test]
async fn admin_clock_and_stats() {
    let s = start().await;
    let before = s
        .request(Method::GET, "/_sim/clock", None, None)
        .await
        .json();
    let r = s
        .post("/_sim/clock", None, json!({ "advance_secs": 7200 }))
        .await
        .json();
    let moved = r["unix"].as_i64().unwrap() - before["unix"].as_i64().unwrap();
    assert!((7200..7202).contains(&moved), "{moved}");
    assert!(r["iso"].as_str().unwrap().ends_with('Z'));
    assert!((7199..7202).contains(&r["offset_secs"].as_i64().unwrap()));
    let r = s
        .post("/_sim/clock", None, json!({ "set_unix": 2_000_000_000u64 }))
        .await
        .json();
    assert!((2_000_000_000..2_000_000_002).contains(&r["unix"].as_i64().unwrap()));
    assert!(s.clock().unix_secs().abs_diff(2_000_000_000) <= 2);
    assert_eq!(s.post("/_sim/clock", None, json!({})).await.status, 400);
    assert_eq!(
        s.post(
            "/_sim/clock",
            None,
            json!({ "advance_secs": 1, "set_unix": 1 })
        )
        .await
        .status,
        400
    );

    s.post("/_sim/stats/reset", None, json!({})).await;
    s.login_nomfa().await;
    s.login_demo().await;
    s.get("/api/v1/user/mfa/type", "x").await;
    let stats = s
        .request(Method::GET, "/_sim/stats", None, None)
        .await
        .json();
    assert_eq!(stats["requests"]["POST /api/v1/authenticate"], 3);
    assert_eq!(stats["requests"]["GET /api/v1/user/mfa/type"], 1);
    assert_eq!(stats["total"], 4, "admin requests are not counted: {stats}");
    assert_eq!(s.sim.stats().count("post", "/api/v1/authenticate"), 3);
    let zero = s.post("/_sim/stats/reset", None, json!({})).await.json();
    assert_eq!(zero, json!({ "total": 0, "requests": {} }));
}

#[tokio::test]
async fn faults_spoil_the_next_matching_requests() {
    let s = start().await;
    let login = json!({ "username": NOMFA_USER, "password": sha1_hex(NOMFA_PASSWORD) });
    let auth_path = "/api/v1/authenticate";

    let r = s
        .post(
            "/_sim/fault",
            None,
            json!({ "path": auth_path, "kind": "html", "times": 2 }),
        )
        .await;
    assert_eq!(r.json()["pending"][0]["times"], 2);
    for _ in 0..2 {
        let r = s.authenticate(login.clone()).await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(r.text.contains("<html>"));
        assert!(r.header("date").is_some());
    }
    assert!(
        s.authenticate(login.clone())
            .await
            .json()
            .get("auth_token")
            .is_some()
    );

    s.post(
        "/_sim/fault",
        None,
        json!({ "path": auth_path, "kind": "empty" }),
    )
    .await;
    let r = s.authenticate(login.clone()).await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));

    s.post(
        "/_sim/fault",
        None,
        json!({ "path": auth_path, "kind": "invalid_json" }),
    )
    .await;
    let r = s.authenticate(login.clone()).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());

    s.post(
        "/_sim/fault",
        None,
        json!({ "path": auth_path, "kind": "status500" }),
    )
    .await;
    assert_eq!(s.authenticate(login.clone()).await.status, 500);

    s.post(
        "/_sim/fault",
        None,
        json!({ "path": auth_path, "kind": "drop" }),
    )
    .await;
    let err = s
        .try_request(Method::POST, auth_path, None, Some(login.clone()))
        .await
        .expect_err("connection dropped without a response");
    assert!(!err.is_status() && !err.is_timeout(), "{err}");
    // The server is fine afterwards.
    assert_eq!(s.authenticate(login.clone()).await.status, 200);

    // Faults match the path (and the method, if given) only.
    s.post(
        "/_sim/fault",
        None,
        json!({ "path": "/api/v1/event", "kind": "status500", "method": "GET" }),
    )
    .await;
    assert_eq!(s.authenticate(login.clone()).await.status, 200);
    let pending = s
        .request(Method::GET, "/_sim/fault", None, None)
        .await
        .json();
    assert_eq!(pending["pending"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.request(Method::DELETE, "/_sim/fault", None, None)
            .await
            .status,
        204
    );
    let (auth, _) = s.login_nomfa().await;
    assert_eq!(s.get("/api/v1/event", &auth).await.status, 200);

    // The library handle injects faults too, admin routes or not.
    s.sim.handle().inject_fault(Fault {
        path: auth_path.into(),
        kind: FaultKind::Status500,
        times: 1,
        method: None,
    });
    assert_eq!(s.authenticate(login.clone()).await.status, 500);
    assert_eq!(
        s.post(
            "/_sim/fault",
            None,
            json!({ "path": auth_path, "kind": "teapot" })
        )
        .await
        .status,
        400
    );
}

#[test]
fn the_binary_prints_its_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emnify-sim"))
        .args(["--port", "0", "--admin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start emnify-sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read the first line");
    let url = line
        .trim_end()
        .strip_prefix("emnify-sim listening on http://127.0.0.1:")
        .map(|port| format!("127.0.0.1:{port}"));
    let result = std::panic::catch_unwind(|| {
        let addr = url.expect("the listening line");
        let resp = raw_http(
            &addr,
            "GET /_sim/clock HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        let body = raw_http(
            &addr,
            "POST /api/v1/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        );
        assert!(body.starts_with("HTTP/1.1 400"), "{body}");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_binary_refuses_a_non_loopback_address_and_a_bad_seed() {
    let out = Command::new(env!("CARGO_BIN_EXE_emnify-sim"))
        .args(["--bind", "0.0.0.0"])
        .output()
        .expect("run emnify-sim");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));

    let dir = std::env::temp_dir().join(format!("emnify-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad-seed.json");
    std::fs::write(&bad, r#"{"users": [{"id": 1}]}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_emnify-sim"))
        .args(["--seed", bad.to_str().unwrap()])
        .output()
        .expect("run emnify-sim");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("seed"));
}

#[test]
fn a_simulator_runs_on_its_own_thread_without_a_runtime() {
    let sim = RunningSimulator::spawn_blocking_thread(SimConfig::new()).expect("start on a thread");
    let addr = sim.addr().to_string();
    assert_eq!(sim.url(), format!("http://{addr}"));
    let resp = raw_http(
        &addr,
        "GET /api/v1/user/mfa/type HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert_eq!(sim.stats().count("GET", "/api/v1/user/mfa/type"), 1);
    // Debug output of a handle shows no secrets of the seed.
    let printed = format!("{sim:?}");
    assert!(
        !printed.contains("demo-password") && !printed.contains("EMNIFYDEMO"),
        "{printed}"
    );
    sim.clock().advance(Duration::from_secs(60));
    sim.shutdown();
    assert!(TcpStream::connect(&addr).is_err(), "stopped");

    // A non-loopback address is refused by the library as well.
    let err =
        RunningSimulator::spawn_blocking_thread(SimConfig::new().with_bind([0, 0, 0, 0].into()))
            .expect_err("refused");
    assert!(err.to_string().contains("loopback"));
}

/// One HTTP/1.1 exchange over a plain socket (a client with no shared code at all).
fn raw_http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).expect("read the response");
    out
}
