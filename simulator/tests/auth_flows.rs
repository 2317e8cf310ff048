//! Login in all four shapes, token lifetimes, trusted devices, lockout, rate limit and
//! workspace switching, over real HTTP.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn login_without_mfa_returns_auth_and_refresh_tokens() {
    let s = start().await;
    let r = s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    let auth = r.str("auth_token");
    let claims = jwt_claims(&auth);
    assert_eq!(claims["sub"], NOMFA_USER_ID.to_string());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        240 * MINUTE
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let refresh = jwt_claims(&r.str("refresh_token"));
    assert_eq!(
        refresh["exp"].as_u64().unwrap() - refresh["iat"].as_u64().unwrap(),
        350 * MINUTE
    );

    let me = s.get("/api/v1/user/my", &auth).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], NOMFA_USER);
    assert_eq!(me.json()["id"], NOMFA_USER_ID);

    // Wrong password, unknown user, uppercase hash: empty 401s.
    for body in [
        json!({ "username": NOMFA_USER, "password": sha1_hex("wrong") }),
        json!({ "username": "nobody@example.com", "password": sha1_hex(NOMFA_PASSWORD) }),
        json!({ "username": NOMFA_USER, "password": NOMFA_PASSWORD }),
    ] {
        let r = s.authenticate(body).await;
        assert_eq!((r.status, r.text.as_str()), (401, ""));
    }
    // Malformed requests: 400.
    assert_eq!(
        s.authenticate(json!({ "username": NOMFA_USER }))
            .await
            .status,
        400
    );
    assert_eq!(
        s.authenticate(json!(["not", "an", "object"])).await.status,
        400
    );
}

#[tokio::test]
async fn login_with_mfa_takes_two_requests_with_a_code_computed_here() {
    let s = start().await;
    s.sim.handle().reset_stats();
    let first = s.credentials(DEMO_USER, DEMO_PASSWORD, None).await;
    assert_eq!(first.status, 200);
    let body = first.json();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["mfa_token"]
    );
    let code = s.fresh_code(DEMO_SECRET);
    let second = s
        .authenticate(json!({ "mfa_token": first.str("mfa_token"), "code": code }))
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let auth = second.str("auth_token");
    assert!(!second.str("refresh_token").is_empty());
    assert_eq!(s.sim.stats().count("POST", "/api/v1/authenticate"), 2);
    assert_eq!(
        s.get("/api/v1/user/my", &auth).await.json()["username"],
        DEMO_USER
    );

    // The mfa_token is used up, and the same code cannot be replayed.
    let again = s
        .authenticate(json!({ "mfa_token": first.str("mfa_token"), "code": code }))
        .await;
    assert_eq!((again.status, again.text.as_str()), (401, ""));
    let fresh = s
        .credentials(DEMO_USER, DEMO_PASSWORD, None)
        .await
        .str("mfa_token");
    let replay = s
        .authenticate(json!({ "mfa_token": fresh, "code": code }))
        .await;
    assert_eq!(replay.status, 401, "a used code must not work twice");
    // Codes of the previous and next step are accepted (clock drift of one step).
    for offset in [-30i64, 30] {
        s.advance(120);
        let t = s.clock().unix_secs().checked_add_signed(offset).unwrap();
        let mfa = s
            .credentials(DEMO_USER, DEMO_PASSWORD, None)
            .await
            .str("mfa_token");
        let r = s
            .authenticate(json!({ "mfa_token": mfa, "code": totp(DEMO_SECRET, t) }))
            .await;
        assert_eq!(r.status, 200, "offset {offset}: {}", r.text);
    }
    // Two steps off is refused.
    s.advance(120);
    let mfa = s
        .credentials(DEMO_USER, DEMO_PASSWORD, None)
        .await
        .str("mfa_token");
    let r = s
        .authenticate(
            json!({ "mfa_token": mfa, "code": totp(DEMO_SECRET, s.clock().unix_secs() - 60) }),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn trusted_fingerprint_skips_mfa_until_90_days_or_deletion() {
    let s = start().await;
    let fp = "test-fingerprint-1";
    let (auth, _) = s
        .login_demo_trusting(Some((fp, "Debian GNU/Linux 13", "Mozilla Firefox")))
        .await;

    s.sim.handle().reset_stats();
    let r = s.credentials(DEMO_USER, DEMO_PASSWORD, Some(fp)).await;
    assert_eq!(r.status, 200);
    assert!(
        r.json().get("auth_token").is_some() && r.json().get("refresh_token").is_some(),
        "{}",
        r.text
    );
    assert_eq!(s.sim.stats().count("POST", "/api/v1/authenticate"), 1);
    // An unknown fingerprint does not help.
    assert!(
        s.credentials(DEMO_USER, DEMO_PASSWORD, Some("other"))
            .await
            .json()
            .get("mfa_token")
            .is_some()
    );

    let devices = s
        .get("/api/v1/user/my/mfa/trusted_device", &auth)
        .await
        .json();
    let mine = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["browser"] == "Mozilla Firefox" && d["operating_system"] == "Debian GNU/Linux 13"
        })
        .expect("new device listed")
        .clone();
    assert_eq!(mine.as_object().unwrap().len(), 4, "{mine}");
    assert!(mine.get("fingerprint").is_none());
    // The same list at the numeric and the short path.
    assert_eq!(
        s.get(
            &format!("/api/v1/user/{DEMO_USER_ID}/mfa/trusted_device"),
            &auth
        )
        .await
        .json(),
        devices
    );
    assert_eq!(
        s.get("/api/v1/user/mfa/trusted_device", &auth).await.json(),
        devices
    );

    // 90 days later the device has lapsed.
    s.advance(90 * DAY - 60);
    let r = s.credentials(DEMO_USER, DEMO_PASSWORD, Some(fp)).await;
    assert!(
        r.json().get("auth_token").is_some(),
        "still trusted just before 90 days: {}",
        r.text
    );
    s.advance(120);
    let r = s.credentials(DEMO_USER, DEMO_PASSWORD, Some(fp)).await;
    assert!(
        r.json().get("mfa_token").is_some(),
        "lapsed after 90 days: {}",
        r.text
    );

    // A device trusted now, then deleted, stops working at once.
    let fp2 = "test-fingerprint-2";
    let (auth, _) = s
        .login_demo_trusting(Some((fp2, "macOS 15", "Safari")))
        .await;
    let listed = s
        .get("/api/v1/user/my/mfa/trusted_device", &auth)
        .await
        .json();
    assert!(listed.as_array().unwrap().iter().all(
        |d| d["browser"] != "Mozilla Firefox" || d["operating_system"] != "Debian GNU/Linux 13"
    ));
    let id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["browser"] == "Safari")
        .unwrap()["id"]
        .clone();
    assert!(
        s.credentials(DEMO_USER, DEMO_PASSWORD, Some(fp2))
            .await
            .json()
            .get("auth_token")
            .is_some()
    );
    let del = s
        .delete(&format!("/api/v1/user/my/mfa/trusted_device/{id}"), &auth)
        .await;
    assert_eq!((del.status, del.text.as_str()), (204, ""));
    assert!(
        s.credentials(DEMO_USER, DEMO_PASSWORD, Some(fp2))
            .await
            .json()
            .get("mfa_token")
            .is_some()
    );
    let del = s
        .delete(
            &format!("/api/v1/user/{DEMO_USER_ID}/mfa/trusted_device/{id}"),
            &auth,
        )
        .await;
    assert_eq!(del.status, 404);
    assert_eq!(del.json()["error_code"], 404);
    // Another user's devices are not reachable.
    let r = s
        .get(
            &format!("/api/v1/user/{NOMFA_USER_ID}/mfa/trusted_device"),
            &auth,
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn seeded_devices_are_listed_and_the_80_day_old_one_lapses_soon() {
    let s = start().await;
    let r = s
        .credentials(DEMO_USER, DEMO_PASSWORD, Some(OLD_DEVICE_FP))
        .await;
    let auth = r.str("auth_token");
    let devices = s
        .get("/api/v1/user/my/mfa/trusted_device", &auth)
        .await
        .json();
    let ids: Vec<_> = devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [41, 42]);
    s.advance(10 * DAY);
    assert!(
        s.credentials(DEMO_USER, DEMO_PASSWORD, Some(OLD_DEVICE_FP))
            .await
            .json()
            .get("mfa_token")
            .is_some()
    );
    let r = s
        .credentials(DEMO_USER, DEMO_PASSWORD, Some(NEW_DEVICE_FP))
        .await;
    let auth = r.str("auth_token");
    let devices = s
        .get("/api/v1/user/my/mfa/trusted_device", &auth)
        .await
        .json();
    assert_eq!(devices.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn refresh_token_works_once() {
    let s = start().await;
    let (_, refresh) = s.login_nomfa().await;
    let r = s.authenticate(json!({ "refresh_token": refresh })).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json().as_object().unwrap().keys().collect::<Vec<_>>(),
        ["auth_token"]
    );
    assert_eq!(
        s.get("/api/v1/user/my", &r.str("auth_token")).await.status,
        200
    );
    let again = s.authenticate(json!({ "refresh_token": refresh })).await;
    assert_eq!((again.status, again.text.as_str()), (401, ""));
    // An auth token is not a refresh token.
    let (auth, _) = s.login_nomfa().await;
    assert_eq!(
        s.authenticate(json!({ "refresh_token": auth }))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn a_new_login_revokes_earlier_refresh_tokens() {
    let s = start().await;
    let (_, first) = s.login_demo().await;
    let (_, second) = s.login_demo().await;
    assert_eq!(
        s.authenticate(json!({ "refresh_token": first }))
            .await
            .status,
        401
    );
    assert_eq!(
        s.authenticate(json!({ "refresh_token": second }))
            .await
            .status,
        200
    );
    // So does a login of a user without MFA.
    let (_, third) = s.login_nomfa().await;
    s.login_nomfa().await;
    assert_eq!(
        s.authenticate(json!({ "refresh_token": third }))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn auth_token_expires_after_240_minutes_and_bad_tokens_get_empty_401() {
    let s = start().await;
    let (auth, _) = s.login_nomfa().await;
    s.advance(239 * MINUTE);
    assert_eq!(s.get("/api/v1/user/my", &auth).await.status, 200);
    s.advance(2 * MINUTE);
    let r = s.get("/api/v1/user/my", &auth).await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));

    let (auth, _) = s.login_nomfa().await;
    // A token whose signature does not match: same header and payload, another signature.
    let (signed, sig) = auth.rsplit_once('.').unwrap();
    // The first character carries six signature bits, so changing it changes the signature.
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    let other_sig = format!("{first}{}", &sig[1..]);
    let forged = format!("{signed}.{other_sig}");
    // And one whose payload was changed (the user id), keeping the old signature.
    let (header, rest) = signed.split_once('.').unwrap();
    let mut claims = jwt_claims(&auth);
    claims["esc.user"] = serde_json::json!(DEMO_USER_ID);
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims.to_string(),
    );
    assert_ne!(payload, rest);
    let tampered = format!("{header}.{payload}.{sig}");
    for token in ["garbage", "a.b.c", forged.as_str(), tampered.as_str()] {
        let r = s.get("/api/v1/user/my", token).await;
        assert_eq!((r.status, r.text.as_str()), (401, ""), "{token}");
    }
    let r = s
        .request(reqwest::Method::GET, "/api/v1/user/my", None, None)
        .await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    // A refresh token is not an auth token.
    let (_, refresh) = s.login_nomfa().await;
    assert_eq!(s.get("/api/v1/user/my", &refresh).await.status, 401);
}

#[tokio::test]
async fn refresh_token_expires_after_350_minutes() {
    let s = start().await;
    let (_, refresh) = s.login_nomfa().await;
    s.advance(349 * MINUTE);
    assert_eq!(
        s.authenticate(json!({ "refresh_token": refresh }))
            .await
            .status,
        200
    );
    let (_, refresh) = s.login_nomfa().await;
    s.advance(351 * MINUTE);
    let r = s.authenticate(json!({ "refresh_token": refresh })).await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
}

#[tokio::test]
async fn three_wrong_codes_lock_the_account_for_five_minutes() {
    let s = start().await;
    let mfa = s
        .credentials(DEMO_USER, DEMO_PASSWORD, None)
        .await
        .str("mfa_token");
    let right = s.fresh_code(DEMO_SECRET);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..2 {
        let r = s
            .authenticate(json!({ "mfa_token": mfa, "code": wrong }))
            .await;
        assert_eq!((r.status, r.text.as_str()), (401, ""));
    }
    let r = s
        .authenticate(json!({ "mfa_token": mfa, "code": wrong }))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_token"], "TooManyRequests");
    // Locked: even the right code and the right password are refused.
    let r = s
        .authenticate(json!({ "mfa_token": mfa, "code": right }))
        .await;
    assert_eq!(
        (r.status, r.json()["error_token"].as_str()),
        (401, Some("TooManyRequests"))
    );
    let r = s.credentials(DEMO_USER, DEMO_PASSWORD, None).await;
    assert_eq!(
        (r.status, r.json()["error_token"].as_str()),
        (401, Some("TooManyRequests"))
    );
    let body = r.json();
    assert!(
        body["error_code"].is_u64() && body["message"].is_string(),
        "{body}"
    );

    s.advance(5 * MINUTE);
    let (auth, _) = s.login_demo().await;

    let events = s.events("/api/v1/user/my/event?q=type:6", &auth).await;
    let texts: Vec<&str> = events
        .iter()
        .map(|e| e["description"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Failed authentication request from 'demo@example.com', Reason: Invalid MFA code from IP 127.0.0.1"), "{texts:?}");
    assert!(texts.contains(&"Failed authentication request from 'demo@example.com', Reason: Invalid MFA code. Too many failed authentication requests from IP 127.0.0.1"), "{texts:?}");
}

#[tokio::test]
async fn wrong_passwords_lock_too_and_a_success_resets_the_count() {
    let s = start().await;
    for _ in 0..2 {
        assert_eq!(s.credentials(NOMFA_USER, "wrong", None).await.status, 401);
    }
    s.login_nomfa().await;
    for _ in 0..2 {
        let r = s.credentials(NOMFA_USER, "wrong", None).await;
        assert_eq!((r.status, r.text.as_str()), (401, ""));
    }
    let (auth, _) = s.login_nomfa().await;
    let r = s.credentials(NOMFA_USER, "wrong", None).await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    let r = s.credentials(NOMFA_USER, "wrong", None).await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    let r = s.credentials(NOMFA_USER, "wrong", None).await;
    assert_eq!(r.json()["error_token"], "TooManyRequests");
    assert_eq!(
        s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await.status,
        401
    );
    // Tokens issued before the lockout keep working.
    assert_eq!(s.get("/api/v1/user/my", &auth).await.status, 200);
    s.advance(4 * MINUTE + 59);
    assert_eq!(
        s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await.status,
        401
    );
    s.advance(2);
    assert_eq!(
        s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await.status,
        200
    );
    let events = s.events("/api/v1/user/my/event?q=type:6", &auth).await;
    assert!(events.iter().any(|e| e["description"]
        == "Failed authentication request from 'nomfa@example.com', Reason: Invalid password from IP 127.0.0.1"));
}

#[tokio::test]
async fn the_101st_authenticate_request_in_five_minutes_gets_429() {
    let s = start().await;
    let body = json!({ "username": "nobody@example.com", "password": sha1_hex("x") });
    for i in 0..100 {
        let r = s.authenticate(body.clone()).await;
        assert_eq!(r.status, 401, "request {i}");
    }
    let r = s.authenticate(body.clone()).await;
    assert_eq!((r.status, r.text.as_str()), (429, ""));
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    // Even valid credentials wait; other endpoints do not.
    assert_eq!(
        s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await.status,
        429
    );
    s.advance(retry);
    assert_eq!(
        s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await.status,
        200
    );
}

#[tokio::test]
async fn application_token_gets_an_auth_token_without_mfa() {
    let s = start().await;
    let r = s
        .authenticate(json!({ "application_token": APP_TOKEN }))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json().as_object().unwrap().keys().collect::<Vec<_>>(),
        ["auth_token"]
    );
    let auth = r.str("auth_token");
    assert_eq!(
        s.get("/api/v1/user/my", &auth).await.json()["id"],
        NOMFA_USER_ID
    );
    assert_eq!(s.get("/api/v1/event", &auth).await.status, 200);

    let r = s
        .authenticate(json!({ "application_token": REVOKED_APP_TOKEN }))
        .await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    let r = s
        .authenticate(json!({ "application_token": "no-such-token" }))
        .await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    let events = s.events("/api/v1/event?q=type:7", &auth).await;
    assert_eq!(
        events[0]["description"],
        "Failed authentication request from 'Old monitoring token', Reason: TokenStatus Revoked from IP 127.0.0.1"
    );
    assert_eq!(
        events[0]["event_type"],
        json!({ "id": 7, "description": "Application authentication failed" })
    );

    // Application tokens may not switch workspaces.
    let r = s
        .post(
            "/api/v1/authenticate/workspace",
            Some(&auth),
            json!({ "target_organisation": { "id": DEMO_ORG } }),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn workspace_switch_gives_a_token_for_the_target_workspace() {
    let s = start().await;
    let (auth, _) = s.login_demo().await;
    assert_eq!(
        s.get("/api/v1/user/my", &auth).await.json()["organisation"]["id"],
        DEMO_ORG
    );
    let r = s
        .post(
            "/api/v1/authenticate/workspace",
            Some(&auth),
            json!({ "target_organisation": { "id": DEMO_WORKSPACE } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json().as_object().unwrap().keys().collect::<Vec<_>>(),
        ["auth_token"]
    );
    let ws = r.str("auth_token");
    let me = s.get("/api/v1/user/my", &ws).await.json();
    assert_eq!(
        me["organisation"],
        json!({ "id": DEMO_WORKSPACE, "name": "Demo Lab Workspace" })
    );
    // The original token stays valid for the source workspace.
    assert_eq!(
        s.get("/api/v1/user/my", &auth).await.json()["organisation"]["id"],
        DEMO_ORG
    );
    // Events are per workspace: nothing happened in the lab workspace.
    assert_eq!(
        s.events("/api/v1/event", &ws).await,
        Vec::<serde_json::Value>::new()
    );

    let r = s
        .post(
            "/api/v1/authenticate/workspace",
            Some(&auth),
            json!({ "target_organisation": { "id": 9999 } }),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_token"], "Unauthorized");
    let (nomfa, _) = s.login_nomfa().await;
    let r = s
        .post(
            "/api/v1/authenticate/workspace",
            Some(&nomfa),
            json!({ "target_organisation": { "id": DEMO_WORKSPACE } }),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = s
        .post(
            "/api/v1/authenticate/workspace",
            None,
            json!({ "target_organisation": { "id": DEMO_WORKSPACE } }),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    let r = s
        .post(
            "/api/v1/authenticate/workspace",
            Some(&auth),
            json!({ "target": 1 }),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn every_response_carries_a_date_header_from_the_simulator_clock() {
    let s = start().await;
    // 2030-03-17T17:46:40Z
    s.clock().set(1_900_000_000);
    let r = s.authenticate(json!({ "username": "x" })).await;
    let date = r.header("date").expect("Date header");
    // The clock keeps running, so allow a few seconds.
    assert!(
        date.starts_with("Sun, 17 Mar 2030 17:46:4") && date.ends_with(" GMT"),
        "{date}"
    );
    s.advance(DAY);
    let r = s
        .request(reqwest::Method::GET, "/no/such/path", None, None)
        .await;
    assert_eq!(r.status, 404);
    assert!(
        r.header("date")
            .unwrap()
            .starts_with("Mon, 18 Mar 2030 17:46:4"),
        "{:?}",
        r.header("date")
    );
}

#[tokio::test]
async fn users_are_visible_by_id_username_and_my() {
    let s = start().await;
    let (auth, _) = s.login_demo().await;
    let me = s.get("/api/v1/user/my", &auth).await.json();
    assert_eq!(
        s.get(&format!("/api/v1/user/{DEMO_USER_ID}"), &auth)
            .await
            .json(),
        me
    );
    assert_eq!(
        s.get("/api/v1/user/demo@example.com", &auth).await.json(),
        me
    );
    assert_eq!(me["name"], "Demo User");
    assert_eq!(me["status"]["id"], 1);
    let keys = me["mfa"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], 717);
    assert!(keys[0].get("secret_key").is_none() && keys[0].get("otpauth").is_none());
    // A colleague in the same workspace is visible; an unknown user is not.
    assert_eq!(
        s.get(&format!("/api/v1/user/{NOMFA_USER_ID}"), &auth)
            .await
            .json()["username"],
        NOMFA_USER
    );
    let r = s.get("/api/v1/user/424242", &auth).await;
    assert_eq!(
        (r.status, r.json()["error_code"].as_u64()),
        (404, Some(404))
    );
}
