//! MFA key life cycle (create, activate, delete) and its type-14 events.

mod common;

use common::*;
use serde_json::json;

fn key_event(id: u64, action: &str, username: &str) -> String {
    format!(
        "MFA key with Id '{id}' of Type 'Time-Based One-Time Password' {action} for user '{username}'"
    )
}

#[tokio::test]
async fn create_activate_and_delete_a_totp_key() {
    let s = start().await;
    let (auth, _) = s.login_nomfa().await;

    // Lookups.
    let statuses = s.get("/api/v1/user/mfa/status", &auth).await.json();
    assert_eq!(
        statuses,
        json!([{ "id": 0, "description": "Activation pending" }, { "id": 1, "description": "Active" }])
    );
    let types = s.get("/api/v1/user/mfa/type", &auth).await.json();
    assert_eq!(
        types,
        json!([{ "id": 1, "description": "Time-Based One-Time Password" }])
    );

    // Creation checks the password and the type.
    let r = s
        .post(
            "/api/v1/user/mfa",
            Some(&auth),
            json!({ "type": { "id": 1 }, "password": sha1_hex("wrong") }),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error_code"].as_u64()),
        (422, Some(422))
    );
    let r = s
        .post(
            "/api/v1/user/mfa",
            Some(&auth),
            json!({ "type": { "id": 2 }, "password": sha1_hex(NOMFA_PASSWORD) }),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = s
        .post(
            "/api/v1/user/mfa",
            Some(&auth),
            json!({ "password": sha1_hex(NOMFA_PASSWORD) }),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = s
        .post(
            "/api/v1/user/mfa",
            None,
            json!({ "type": { "id": 1 }, "password": sha1_hex(NOMFA_PASSWORD) }),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));

    let r = s
        .post(
            "/api/v1/user/mfa",
            Some(&auth),
            json!({ "type": { "id": 1 }, "password": sha1_hex(NOMFA_PASSWORD) }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = r.json();
    let key_id = key["id"].as_u64().unwrap();
    let secret = key["secret_key"].as_str().unwrap().to_string();
    assert_eq!(
        key["status"],
        json!({ "id": 0, "description": "Activation pending" })
    );
    assert_eq!(
        key["type"],
        json!({ "id": 1, "description": "Time-Based One-Time Password" })
    );
    assert_eq!(
        data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .unwrap()
            .len(),
        20
    );
    let otpauth = key["otpauth"].as_str().unwrap();
    assert!(
        otpauth.starts_with("otpauth://totp/emnify:nomfa%40example.com?secret="),
        "{otpauth}"
    );
    assert!(otpauth.contains(&format!("secret={secret}&")) && otpauth.contains("period=30"));
    assert!(key["creation_date"].as_str().unwrap().ends_with('Z'));

    // The secret is never shown again.
    let me = s.get("/api/v1/user/my", &auth).await;
    assert!(!me.text.contains(&secret));
    assert_eq!(me.json()["mfa"][0]["id"], key_id);
    assert_eq!(me.json()["mfa"][0]["status"]["id"], 0);
    // A pending key does not turn MFA on.
    assert!(
        s.credentials(NOMFA_USER, NOMFA_PASSWORD, None)
            .await
            .json()
            .get("auth_token")
            .is_some()
    );

    // Activation: unknown key 404, wrong code 422, right code 204, again 409.
    let path = format!("/api/v1/user/mfa/{key_id}");
    let r = s
        .patch(
            "/api/v1/user/mfa/999999",
            &auth,
            json!({ "status": { "id": 1 }, "code": "123456" }),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error_code"].as_u64()),
        (404, Some(404))
    );
    let right = totp(&secret, s.clock().unix_secs());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let r = s
        .patch(
            &path,
            &auth,
            json!({ "status": { "id": 1 }, "code": wrong }),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error_code"].as_u64()),
        (422, Some(422))
    );
    let r = s
        .patch(
            &path,
            &auth,
            json!({ "status": { "id": 1 }, "code": right }),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let r = s
        .patch(
            &path,
            &auth,
            json!({ "status": { "id": 1 }, "code": right }),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error_code"].as_u64()),
        (409, Some(409))
    );
    let me = s.get("/api/v1/user/my", &auth).await.json();
    assert_eq!(
        me["mfa"][0]["status"],
        json!({ "id": 1, "description": "Active" })
    );
    assert!(me["mfa"][0]["activation_date"].is_string());

    // MFA is now on for this user, with the new key.
    let first = s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await;
    let mfa_token = first.str("mfa_token");
    let r = s
        .authenticate(json!({ "mfa_token": mfa_token, "code": s.fresh_code(&secret) }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let auth = r.str("auth_token");
    // A second active key of the same type is a conflict.
    let r = s
        .post(
            "/api/v1/user/mfa",
            Some(&auth),
            json!({ "type": { "id": 1 }, "password": sha1_hex(NOMFA_PASSWORD) }),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error_code"].as_u64()),
        (409, Some(409))
    );

    // Deletion, by numeric user id; another user's id or an unknown key is 404.
    let r = s
        .delete(&format!("/api/v1/user/{DEMO_USER_ID}/mfa/{key_id}"), &auth)
        .await;
    assert_eq!(r.status, 404);
    let r = s
        .delete(&format!("/api/v1/user/{NOMFA_USER_ID}/mfa/{key_id}"), &auth)
        .await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let r = s
        .delete(&format!("/api/v1/user/{NOMFA_USER_ID}/mfa/{key_id}"), &auth)
        .await;
    assert_eq!(
        (r.status, r.json()["error_code"].as_u64()),
        (404, Some(404))
    );
    assert!(
        s.credentials(NOMFA_USER, NOMFA_PASSWORD, None)
            .await
            .json()
            .get("auth_token")
            .is_some()
    );

    // Deletion through `my`, of a key that was never activated.
    let (auth, _) = s.login_nomfa().await;
    let r = s
        .post(
            "/api/v1/user/mfa",
            Some(&auth),
            json!({ "type": { "id": 1 }, "password": sha1_hex(NOMFA_PASSWORD) }),
        )
        .await;
    let second_id = r.json()["id"].as_u64().unwrap();
    assert_ne!(second_id, key_id);
    let r = s
        .delete(&format!("/api/v1/user/my/mfa/{second_id}"), &auth)
        .await;
    assert_eq!(r.status, 204);

    // Type 14 events, newest first, worded like emnify's.
    let events = s.events("/api/v1/user/my/event?q=type:14", &auth).await;
    let texts: Vec<&str> = events
        .iter()
        .map(|e| e["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            key_event(second_id, "deleted", NOMFA_USER),
            key_event(second_id, "created", NOMFA_USER),
            key_event(key_id, "deleted", NOMFA_USER),
            key_event(key_id, "activated", NOMFA_USER),
            key_event(key_id, "created", NOMFA_USER),
        ]
    );
    let e = &events[0];
    assert_eq!(
        e["event_type"],
        json!({ "id": 14, "description": "Multi-factor Authentication" })
    );
    assert_eq!(
        e["event_severity"],
        json!({ "id": 0, "description": "Info" })
    );
    assert_eq!(e["event_source"], json!({ "id": 2, "description": "API" }));
    assert_eq!(
        e["user"],
        json!({ "id": NOMFA_USER_ID, "name": "No-MFA User", "username": NOMFA_USER })
    );
    assert_eq!(
        e["organisation"],
        json!({ "id": DEMO_ORG, "name": "Demo Org" })
    );
    assert_eq!(e["alert"], false);
}

#[tokio::test]
async fn deleting_the_demo_key_turns_mfa_off() {
    let s = start().await;
    let (auth, _) = s.login_demo().await;
    let r = s.delete("/api/v1/user/my/mfa/717", &auth).await;
    assert_eq!(r.status, 204);
    let r = s.credentials(DEMO_USER, DEMO_PASSWORD, None).await;
    assert!(r.json().get("auth_token").is_some(), "{}", r.text);
    let events = s.events("/api/v1/event?q=type:14&per_page=1", &auth).await;
    assert_eq!(
        events[0]["description"],
        key_event(717, "deleted", DEMO_USER)
    );
}
