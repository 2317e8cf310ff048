//! Event lists: paging headers, `q` filters, sorting, visibility and retention.

mod common;

use common::*;
use emnify_sim::Seed;
use serde_json::{Value, json};

/// The demo seed plus 24 type-6/7/13/14 events of the demo user, one per hour going back, and
/// one that is older than the 30-day retention.
fn busy_seed() -> Seed {
    let mut seed: Value = serde_json::from_str(emnify_sim::DEMO_SEED_JSON).unwrap();
    let events = seed["events"].as_array_mut().unwrap();
    events.clear();
    for hour in 1..=24 {
        let event_type = [6, 7, 13, 14][hour % 4];
        let mut e = json!({ "type": event_type, "at": format!("now-{hour}h"), "user": 1001 });
        if event_type == 7 {
            e["application_token"] = json!(32);
            e["user"] = json!(1002);
        }
        if event_type == 13 {
            e["support_username"] = json!("max.mustermann@emnify.com");
        }
        events.push(e);
    }
    events.push(json!({ "type": 6, "at": "now-31d", "user": 1001 }));
    Seed::from_json(&seed.to_string()).unwrap()
}

fn ids(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["id"].as_u64().unwrap()).collect()
}

fn stamps(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn pages_are_newest_first_with_emnify_paging_headers() {
    let s = start_with_seed(busy_seed()).await;
    let (auth, _) = s.login_nomfa().await;
    let all = s.events("/api/v1/event?per_page=1000", &auth).await;
    // 24 seeded within 30 days; the 31-day-old one is gone.
    assert_eq!(all.len(), 24);
    let mut sorted = stamps(&all);
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(stamps(&all), sorted, "newest first");

    let r = s.get("/api/v1/event?page=2&per_page=5", &auth).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-total-count").as_deref(), Some("24"));
    assert_eq!(r.header("x-total-pages").as_deref(), Some("5"));
    assert_eq!(r.header("x-current-page").as_deref(), Some("2"));
    assert_eq!(r.header("x-count-per-page").as_deref(), Some("5"));
    let link = r.header("link").unwrap();
    let base = format!("{}/api/v1/event", s.base);
    for (rel, page) in [("first", 1), ("prev", 1), ("next", 3), ("last", 5)] {
        let want = format!("<{base}?page={page}&per_page=5>;rel=\"{rel}\"");
        assert!(link.contains(&want), "{want} in {link}");
    }
    assert_eq!(ids(r.json().as_array().unwrap()), ids(&all[5..10]));

    // Past the end: the last page; below 1: the first.
    let last = s.get("/api/v1/event?page=99&per_page=5", &auth).await;
    assert_eq!(last.header("x-current-page").as_deref(), Some("5"));
    assert_eq!(ids(last.json().as_array().unwrap()), ids(&all[20..]));
    assert!(!last.header("link").unwrap().contains("rel=\"next\""));
    let first = s.get("/api/v1/event?page=0&per_page=5", &auth).await;
    assert_eq!(first.header("x-current-page").as_deref(), Some("1"));
    assert!(!first.header("link").unwrap().contains("rel=\"prev\""));
    // Default page size, and the maximum.
    let r = s.get("/api/v1/event", &auth).await;
    assert_eq!(r.header("x-count-per-page").as_deref(), Some("50"));
    let r = s.get("/api/v1/event?per_page=5000", &auth).await;
    assert_eq!(r.header("x-count-per-page").as_deref(), Some("1000"));
    // Bad paging parameters: 400.
    assert_eq!(s.get("/api/v1/event?page=two", &auth).await.status, 400);
    assert_eq!(s.get("/api/v1/event?sort=colour", &auth).await.status, 400);
    // Sorting by id ascending reverses the order.
    let asc = s.events("/api/v1/event?per_page=1000&sort=id", &auth).await;
    let mut reversed = ids(&all);
    reversed.reverse();
    assert_eq!(ids(&asc), reversed);
}

#[tokio::test]
async fn q_filters_by_type_and_time_window() {
    let s = start_with_seed(busy_seed()).await;
    let (auth, _) = s.login_nomfa().await;
    let all = s.events("/api/v1/event?per_page=1000", &auth).await;

    let r = s
        .get("/api/v1/event?per_page=1000&q=type:6|14", &auth)
        .await;
    let some = r.json().as_array().unwrap().clone();
    assert_eq!(some.len(), 12);
    assert!(
        some.iter()
            .all(|e| [6, 14].contains(&e["event_type"]["id"].as_u64().unwrap()))
    );
    assert_eq!(r.header("x-total-count").as_deref(), Some("12"));
    // The filter travels in the Link header.
    assert!(
        r.header("link").unwrap().contains("q=type%3A6%7C14"),
        "{:?}",
        r.header("link")
    );

    // A window: the events between the 5th and the 10th newest, inclusive.
    let from = all[9]["timestamp"].as_str().unwrap();
    let until = all[4]["timestamp"].as_str().unwrap();
    let window = s
        .events(
            &format!("/api/v1/event?per_page=1000&q=from:{from},until:{until}"),
            &auth,
        )
        .await;
    assert_eq!(ids(&window), ids(&all[4..10]));
    let window = s
        .events(
            &format!("/api/v1/event?per_page=1000&q=type:13,from:{from},until:{until}"),
            &auth,
        )
        .await;
    assert!(window.iter().all(|e| e["event_type"]["id"] == 13) && !window.is_empty());
    // The spec's YYYY-MM-DDTHH:mm:ssZ form (no fraction) works too.
    let window = s
        .events(
            "/api/v1/event?per_page=1000&q=from:2000-01-01T00:00:00Z,until:2100-01-01T00:00:00Z",
            &auth,
        )
        .await;
    assert_eq!(window.len(), 24);

    // 422 for bad queries, as the spec says; `from` is only valid with `until`.
    for q in [
        "from:2000-01-01T00:00:00Z",
        "until:2000-01-01T00:00:00Z",
        "type:six",
        "type:1|2|3|4|5|6|7",
        "colour:red",
        "from:yesterday,until:today",
        "type",
    ] {
        let r = s.get(&format!("/api/v1/event?q={q}"), &auth).await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
    }
    // Device filters are valid but no simulated event has a device.
    assert!(
        s.events("/api/v1/event?q=iccid:8988303000123456789", &auth)
            .await
            .is_empty()
    );
    assert_eq!(
        s.events("/api/v1/event?per_page=1000&q=severity:0", &auth)
            .await
            .len(),
        6
    );
    assert_eq!(
        s.events("/api/v1/event?per_page=1000&q=alert:false,source:2", &auth)
            .await
            .len(),
        24
    );
}

#[tokio::test]
async fn user_events_are_ones_own_and_unknown_users_give_an_empty_list() {
    let s = start_with_seed(busy_seed()).await;
    let (demo, _) = s.login_demo().await;
    let mine = s.events("/api/v1/user/my/event?per_page=1000", &demo).await;
    assert!(mine.iter().all(|e| e["user"]["id"] == DEMO_USER_ID));
    assert_eq!(mine.len(), 18);
    let by_id = s
        .events(
            &format!("/api/v1/user/{DEMO_USER_ID}/event?per_page=1000"),
            &demo,
        )
        .await;
    assert_eq!(ids(&by_id), ids(&mine));
    // A colleague's events are visible; an unknown user's list is empty, not an error.
    assert_eq!(
        s.events(
            &format!("/api/v1/user/{NOMFA_USER_ID}/event?per_page=1000"),
            &demo
        )
        .await
        .len(),
        6
    );
    assert!(
        s.events("/api/v1/user/424242/event", &demo)
            .await
            .is_empty()
    );
    assert_eq!(s.get("/api/v1/user/someone/event", &demo).await.status, 400);

    // Event types lookup.
    let types = s.get("/api/v1/event/type", &demo).await.json();
    assert_eq!(types.as_array().unwrap().len(), 4);
    assert_eq!(
        types[2],
        json!({ "id": 13, "description": "Support Access" })
    );
}

#[tokio::test]
async fn demo_seed_events_look_like_the_documentation_examples() {
    let s = start().await;
    let (auth, _) = s.login_demo().await;
    let events = s.events("/api/v1/event", &auth).await;
    let support = events.iter().find(|e| e["event_type"]["id"] == 13).unwrap();
    assert_eq!(
        support["description"],
        "Support user max.mustermann@emnify.com of organisation emnify GmbH generated a support token for user demo@example.com of organisation Demo Org"
    );
    assert_eq!(
        support["detail"],
        json!({
            "support_username": "max.mustermann@emnify.com",
            "support_user_org": { "id": 2, "name": "emnify GmbH" },
            "target_username": "demo@example.com",
        })
    );
    assert_eq!(
        support["event_severity"],
        json!({ "id": 1, "description": "Warn" })
    );
    let failed = events.iter().find(|e| e["event_type"]["id"] == 6).unwrap();
    assert_eq!(
        failed["description"],
        "Failed authentication request from 'demo@example.com', Reason: Invalid MFA code from IP 198.51.100.23"
    );
    for e in &events {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "id",
            "timestamp",
            "alert",
            "description",
            "event_type",
            "event_source",
            "event_severity",
            "organisation",
            "user",
        ] {
            assert!(keys.contains(&k), "{k} missing in {e}");
        }
        let ts = e["timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T');
    }
    // The demo seed has the key events, an app-token failure and two failed logins too.
    assert_eq!(events.len(), 6);
}
