//! Every simulator response body, checked against the emnify OpenAPI fragments.
//!
//! The specs are read at test time from `$EMNIFY_API_SPEC_DIR`, or else from
//! `$CARGO_MANIFEST_DIR/../../shared/emnify-api` (the `shared/` folder beside the repository).
//! A full scenario drives every endpoint the simulator implements, in success and in error;
//! each JSON body is then validated against the schema the spec declares for that path,
//! method and status, with `$ref`s to `#/components/schemas/...` inlined.
//!
//! Schemas are checked strictly: an object schema that lists properties gets
//! `additionalProperties: false`, so a misspelt or invented field fails. Where the spec itself
//! is incomplete, the gap is listed below in `SPEC_GAPS` / `UNDECLARED_RESPONSES` with the
//! reason, and reported in `simulator/README.md`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::*;
use serde_json::{Map, Value, json};

/// Properties the simulator sends that a spec schema leaves out, with why.
const SPEC_GAPS: &[(&str, &str, &str)] = &[
    (
        "ApiV1EventGetResponsesContentApplicationJsonSchemaItems",
        "detail",
        "the event schema omits `detail`, which the documentation's examples (e.g. Support Access) show",
    ),
    (
        "ApiV1UserUserIdEventGetResponsesContentApplicationJsonSchemaItems",
        "detail",
        "the user-event schema omits `detail`, which the documentation's examples show",
    ),
];

/// Responses with a body whose status the spec does not declare for that operation, with why.
const UNDECLARED_RESPONSES: &[(&str, &str, u16, &str)] = &[(
    "POST",
    "/api/v1/authenticate/workspace",
    400,
    "the spec lists only 200 and 401; a malformed body gets 400 with the usual error object",
)];

/// The generic error object, for the undeclared responses above.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "error_code": { "type": "integer" },
            "error_token": { "type": "string" },
            "message": { "type": "string" },
        },
        "required": ["error_code", "error_token", "message"],
        "additionalProperties": false,
    })
}

fn spec_dir() -> PathBuf {
    match std::env::var_os("EMNIFY_API_SPEC_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/emnify-api"),
    }
}

#[derive(Debug)]
struct Operation {
    file: String,
    template: String,
    method: String,
    /// Status → inlined schema (`None`: declared without a JSON body).
    responses: BTreeMap<u16, Option<Value>>,
}

impl Operation {
    /// How well `path` fits this template: `Some(literal segments)` if it fits.
    fn fit(&self, path: &str) -> Option<usize> {
        let want: Vec<&str> = self.template.split('/').collect();
        let have: Vec<&str> = path.split('/').collect();
        if want.len() != have.len() {
            return None;
        }
        let mut literal = 0;
        for (w, h) in want.iter().zip(&have) {
            if w.starts_with('{') && w.ends_with('}') {
                if h.is_empty() {
                    return None;
                }
            } else if w == h {
                literal += 1;
            } else {
                return None;
            }
        }
        Some(literal)
    }
}

/// Inlines `$ref`s, translates OpenAPI 3.0 `nullable`, applies `SPEC_GAPS` and closes object
/// schemas that list their properties.
fn prepare(schema: &Value, components: &Map<String, Value>, depth: usize) -> Value {
    assert!(depth < 64, "$ref cycle?");
    match schema {
        Value::Object(m) => {
            let mut out = if let Some(Value::String(r)) = m.get("$ref") {
                let name = r
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unsupported $ref {r}"));
                let target = components
                    .get(name)
                    .unwrap_or_else(|| panic!("dangling $ref {r}"));
                let Value::Object(mut resolved) = prepare(target, components, depth + 1) else {
                    panic!("{r} is not a schema object");
                };
                for (k, v) in m {
                    if k != "$ref" && !resolved.contains_key(k) {
                        resolved.insert(k.clone(), prepare(v, components, depth + 1));
                    }
                }
                resolved
            } else {
                m.iter()
                    .map(|(k, v)| (k.clone(), prepare(v, components, depth + 1)))
                    .collect()
            };
            if out.remove("nullable") == Some(Value::Bool(true)) {
                match out.get("type").cloned() {
                    Some(Value::String(t)) => {
                        out.insert("type".into(), json!([t, "null"]));
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(&mut out));
                        out.insert("anyOf".into(), json!([inner, { "type": "null" }]));
                    }
                }
            }
            if let Some(Value::String(title)) = out.get("title").cloned() {
                for (gap_title, property, _why) in SPEC_GAPS {
                    if *gap_title == title
                        && let Some(Value::Object(props)) = out.get_mut("properties")
                    {
                        props.insert((*property).to_string(), json!({ "type": "object" }));
                    }
                }
            }
            let lists_properties =
                matches!(out.get("properties"), Some(Value::Object(p)) if !p.is_empty());
            if out.get("type") == Some(&json!("object"))
                && lists_properties
                && !out.contains_key("additionalProperties")
            {
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| prepare(v, components, depth + 1))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn load_spec() -> Vec<Operation> {
    let dir = spec_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "cannot read the OpenAPI folder {} ({e}); set EMNIFY_API_SPEC_DIR",
                dir.display()
            )
        })
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".openapi.yml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "expected the six emnify OpenAPI fragments in {}",
        dir.display()
    );
    let mut ops = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Value =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let empty = Map::new();
        let components = doc["components"]["schemas"].as_object().unwrap_or(&empty);
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        for (template, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().unwrap() {
                let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                    continue;
                };
                let responses = responses
                    .iter()
                    .map(|(status, resp)| {
                        let status: u16 = status
                            .parse()
                            .unwrap_or_else(|_| panic!("status {status} in {name}"));
                        let schema = resp
                            .pointer("/content/application~1json/schema")
                            .map(|s| prepare(s, components, 0));
                        (status, schema)
                    })
                    .collect();
                ops.push(Operation {
                    file: name.clone(),
                    template: template.clone(),
                    method: method.to_uppercase(),
                    responses,
                });
            }
        }
    }
    ops
}

/// The spec's operation for a request; the documented short forms
/// `/api/v1/user/mfa/trusted_device[/{id}]` stand for `/api/v1/user/my/mfa/trusted_device…`.
fn find<'a>(ops: &'a [Operation], method: &str, path: &str) -> Option<&'a Operation> {
    let path = match path.strip_prefix("/api/v1/user/mfa/trusted_device") {
        Some(rest) => format!("/api/v1/user/my/mfa/trusted_device{rest}"),
        None => path.to_string(),
    };
    ops.iter()
        .filter(|op| op.method == method)
        .filter_map(|op| op.fit(&path).map(|lit| (lit, op)))
        .max_by_key(|(lit, _)| *lit)
        .map(|(_, op)| op)
}

/// Drives every implemented endpoint, in success and in error.
async fn scenario(s: &Sim) {
    let auth_path = "/api/v1/authenticate";
    // --- POST /api/v1/authenticate, all four shapes and its errors.
    let (nomfa, nomfa_refresh) = s.login_nomfa().await;
    let fp = "conformance-fingerprint";
    let (demo, _) = s
        .login_demo_trusting(Some((fp, "Debian GNU/Linux 13", "Mozilla Firefox")))
        .await;
    assert_eq!(
        s.credentials(DEMO_USER, DEMO_PASSWORD, Some(fp))
            .await
            .status,
        200
    );
    assert_eq!(
        s.authenticate(json!({ "refresh_token": nomfa_refresh }))
            .await
            .status,
        200
    );
    assert_eq!(
        s.authenticate(json!({ "application_token": APP_TOKEN }))
            .await
            .status,
        200
    );
    let app = s
        .authenticate(json!({ "application_token": APP_TOKEN }))
        .await
        .str("auth_token");
    assert_eq!(
        s.authenticate(json!({ "application_token": REVOKED_APP_TOKEN }))
            .await
            .status,
        401
    );
    assert_eq!(
        s.authenticate(json!({ "username": NOMFA_USER }))
            .await
            .status,
        400
    );
    assert_eq!(
        s.post(auth_path, None, json!("not an object")).await.status,
        400
    );
    for _ in 0..3 {
        s.credentials(NOMFA_USER, "wrong", None).await;
    }
    let locked = s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await;
    assert_eq!(
        (locked.status, locked.json()["error_token"].as_str()),
        (401, Some("TooManyRequests"))
    );
    s.advance(5 * MINUTE);
    let (nomfa2, _) = s.login_nomfa().await;

    // --- POST /api/v1/authenticate/workspace.
    let ws_path = "/api/v1/authenticate/workspace";
    let r = s
        .post(
            ws_path,
            Some(&demo),
            json!({ "target_organisation": { "id": DEMO_WORKSPACE } }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.post(
            ws_path,
            Some(&demo),
            json!({ "target_organisation": { "id": 9 } })
        )
        .await
        .status,
        401
    );
    assert_eq!(
        s.post(
            ws_path,
            Some(&app),
            json!({ "target_organisation": { "id": DEMO_ORG } })
        )
        .await
        .status,
        401
    );
    assert_eq!(s.post(ws_path, Some(&demo), json!({})).await.status, 400);
    assert_eq!(s.post(ws_path, None, json!({})).await.status, 401);

    // --- MFA keys.
    assert_eq!(s.get("/api/v1/user/mfa/status", &nomfa2).await.status, 200);
    assert_eq!(s.get("/api/v1/user/mfa/type", &nomfa2).await.status, 200);
    let create = json!({ "type": { "id": 1 }, "password": sha1_hex(NOMFA_PASSWORD) });
    assert_eq!(
        s.post(
            "/api/v1/user/mfa",
            Some(&nomfa2),
            json!({ "type": { "id": 1 }, "password": "x" })
        )
        .await
        .status,
        422
    );
    assert_eq!(
        s.post("/api/v1/user/mfa", Some(&nomfa2), json!({}))
            .await
            .status,
        422
    );
    let key = s
        .post("/api/v1/user/mfa", Some(&nomfa2), create.clone())
        .await
        .json();
    let key_id = key["id"].as_u64().unwrap();
    let secret = key["secret_key"].as_str().unwrap().to_string();
    let patch = format!("/api/v1/user/mfa/{key_id}");
    let activate = |code: String| json!({ "status": { "id": 1 }, "code": code });
    assert_eq!(
        s.patch("/api/v1/user/mfa/4242", &nomfa2, activate("000000".into()))
            .await
            .status,
        404
    );
    let good = totp(&secret, s.clock().unix_secs());
    let bad = if good == "000000" { "111111" } else { "000000" }.to_string();
    assert_eq!(s.patch(&patch, &nomfa2, activate(bad)).await.status, 422);
    assert_eq!(
        s.patch(&patch, &nomfa2, json!({ "code": good }))
            .await
            .status,
        422
    );
    assert_eq!(
        s.patch(&patch, &nomfa2, activate(good.clone()))
            .await
            .status,
        204
    );
    assert_eq!(s.patch(&patch, &nomfa2, activate(good)).await.status, 409);
    assert_eq!(
        s.post("/api/v1/user/mfa", Some(&nomfa2), create)
            .await
            .status,
        409
    );
    let user_key = format!("/api/v1/user/{NOMFA_USER_ID}/mfa/{key_id}");
    assert_eq!(s.get("/api/v1/user/my", &nomfa2).await.status, 200);
    assert_eq!(s.delete(&user_key, &nomfa2).await.status, 204);
    assert_eq!(s.delete(&user_key, &nomfa2).await.status, 404);
    assert_eq!(
        s.delete("/api/v1/user/my/mfa/4242", &nomfa2).await.status,
        404
    );

    // --- Trusted devices.
    let list = s.get("/api/v1/user/my/mfa/trusted_device", &demo).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        s.get(
            &format!("/api/v1/user/{DEMO_USER_ID}/mfa/trusted_device"),
            &demo
        )
        .await
        .status,
        200
    );
    assert_eq!(
        s.get("/api/v1/user/mfa/trusted_device", &demo).await.status,
        200
    );
    assert_eq!(
        s.get(
            &format!("/api/v1/user/{NOMFA_USER_ID}/mfa/trusted_device"),
            &demo
        )
        .await
        .status,
        404
    );
    let id = list.json()[0]["id"].as_u64().unwrap();
    assert_eq!(
        s.delete(&format!("/api/v1/user/my/mfa/trusted_device/{id}"), &demo)
            .await
            .status,
        204
    );
    assert_eq!(
        s.delete(&format!("/api/v1/user/my/mfa/trusted_device/{id}"), &demo)
            .await
            .status,
        404
    );
    assert_eq!(
        s.delete("/api/v1/user/mfa/trusted_device/4242", &demo)
            .await
            .status,
        404
    );
    assert_eq!(
        s.delete("/api/v1/user/4242/mfa/trusted_device/42", &demo)
            .await
            .status,
        404
    );

    // --- Users.
    assert_eq!(s.get("/api/v1/user/my", &demo).await.status, 200);
    assert_eq!(
        s.get(&format!("/api/v1/user/{NOMFA_USER_ID}"), &demo)
            .await
            .status,
        200
    );
    assert_eq!(s.get("/api/v1/user/4242", &demo).await.status, 404);
    assert_eq!(s.get("/api/v1/user/my", &app).await.status, 200);

    // --- Events (the demo seed has a Support Access event with `detail`).
    let r = s.get("/api/v1/event?per_page=100", &demo).await;
    assert!(r.text.contains("\"detail\""));
    assert_eq!(s.get("/api/v1/event?page=x", &demo).await.status, 400);
    assert_eq!(
        s.get("/api/v1/event?q=from:2026-01-01T00:00:00Z", &demo)
            .await
            .status,
        422
    );
    assert_eq!(
        s.get("/api/v1/user/my/event?q=type:6|13|14", &demo)
            .await
            .status,
        200
    );
    assert_eq!(
        s.get("/api/v1/user/my/event?per_page=1&page=2", &demo)
            .await
            .status,
        200
    );
    assert_eq!(s.get("/api/v1/user/4242/event", &demo).await.status, 200);
    assert_eq!(s.get("/api/v1/user/abc/event", &demo).await.status, 400);
    assert_eq!(
        s.get("/api/v1/user/my/event?q=nonsense", &demo)
            .await
            .status,
        422
    );
    assert_eq!(s.get("/api/v1/event/type", &demo).await.status, 200);
    assert_eq!(s.get("/api/v1/event", "expired-or-bad").await.status, 401);

    // --- Rate limit (an empty 429).
    for _ in 0..100 {
        s.authenticate(json!({ "username": "nobody@example.com", "password": "x" }))
            .await;
    }
    assert_eq!(
        s.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await.status,
        429
    );
    let _ = nomfa;
}

#[tokio::test]
async fn every_response_body_matches_the_openapi_schemas() {
    let ops = load_spec();
    let s = start().await;
    scenario(&s).await;

    let mut failures = Vec::new();
    let mut covered: BTreeSet<(String, String, u16)> = BTreeSet::new();
    let mut checked = 0;
    for ex in s.exchanges() {
        let Some(op) = find(&ops, &ex.method, &ex.path) else {
            failures.push(format!("{} {}: not in the spec", ex.method, ex.path));
            continue;
        };
        covered.insert((ex.method.clone(), op.template.clone(), ex.status));
        if ex.body.is_empty() {
            // Empty bodies: 204s, emnify's empty 401s, the 429 of the rate limit.
            if ![204, 401, 429].contains(&ex.status) {
                failures.push(format!(
                    "{} {}: {} with an empty body",
                    ex.method, ex.path, ex.status
                ));
            }
            continue;
        }
        if !ex
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"))
        {
            failures.push(format!(
                "{} {}: body is not application/json ({:?})",
                ex.method, ex.path, ex.content_type
            ));
        }
        let body: Value = match serde_json::from_str(&ex.body) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{} {}: body is not JSON ({e})", ex.method, ex.path));
                continue;
            }
        };
        let schema = match op.responses.get(&ex.status) {
            Some(Some(schema)) => schema.clone(),
            Some(None) => {
                failures.push(format!(
                    "{} {} {}: the spec declares no body",
                    ex.method, op.template, ex.status
                ));
                continue;
            }
            None if UNDECLARED_RESPONSES
                .iter()
                .any(|(m, t, st, _)| *m == ex.method && *t == op.template && *st == ex.status) =>
            {
                error_schema()
            }
            None => {
                failures.push(format!(
                    "{} {} ({}): status {} is not declared (declared: {:?})",
                    ex.method,
                    op.template,
                    op.file,
                    ex.status,
                    op.responses.keys().collect::<Vec<_>>()
                ));
                continue;
            }
        };
        let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| {
            panic!("schema of {} {} {}: {e}", ex.method, op.template, ex.status)
        });
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if !errors.is_empty() {
            failures.push(format!(
                "{} {} {} ({}): {}\n  body: {}",
                ex.method,
                ex.path,
                ex.status,
                op.file,
                errors.join("; "),
                ex.body
            ));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The scenario must have reached every endpoint and every documented error it can produce.
    let expected: &[(&str, &str, u16)] = &[
        ("POST", "/api/v1/authenticate", 200),
        ("POST", "/api/v1/authenticate", 400),
        ("POST", "/api/v1/authenticate", 401),
        ("POST", "/api/v1/authenticate", 429),
        ("POST", "/api/v1/authenticate/workspace", 200),
        ("POST", "/api/v1/authenticate/workspace", 400),
        ("POST", "/api/v1/authenticate/workspace", 401),
        ("POST", "/api/v1/user/mfa", 200),
        ("POST", "/api/v1/user/mfa", 409),
        ("POST", "/api/v1/user/mfa", 422),
        ("GET", "/api/v1/user/mfa/status", 200),
        ("GET", "/api/v1/user/mfa/type", 200),
        ("PATCH", "/api/v1/user/mfa/{key_id}", 204),
        ("PATCH", "/api/v1/user/mfa/{key_id}", 404),
        ("PATCH", "/api/v1/user/mfa/{key_id}", 409),
        ("PATCH", "/api/v1/user/mfa/{key_id}", 422),
        ("DELETE", "/api/v1/user/{user_id}/mfa/{key_id}", 204),
        ("DELETE", "/api/v1/user/{user_id}/mfa/{key_id}", 404),
        ("GET", "/api/v1/user/{user_id}/mfa/trusted_device", 200),
        ("GET", "/api/v1/user/{user_id}/mfa/trusted_device", 404),
        (
            "DELETE",
            "/api/v1/user/{user_id}/mfa/trusted_device/{device_id}",
            204,
        ),
        (
            "DELETE",
            "/api/v1/user/{user_id}/mfa/trusted_device/{device_id}",
            404,
        ),
        ("GET", "/api/v1/user/{user_id}", 200),
        ("GET", "/api/v1/user/{user_id}", 404),
        ("GET", "/api/v1/event", 200),
        ("GET", "/api/v1/event", 400),
        ("GET", "/api/v1/event", 401),
        ("GET", "/api/v1/event", 422),
        ("GET", "/api/v1/user/{user_id}/event", 200),
        ("GET", "/api/v1/user/{user_id}/event", 400),
        ("GET", "/api/v1/user/{user_id}/event", 422),
        ("GET", "/api/v1/event/type", 200),
    ];
    let missing: Vec<_> = expected
        .iter()
        .filter(|(m, t, st)| !covered.contains(&((*m).to_string(), (*t).to_string(), *st)))
        .collect();
    assert!(missing.is_empty(), "the scenario missed {missing:?}");
    assert!(checked > 40, "only {checked} bodies checked");
}

/// The checker itself must catch a wrong field name or type, or it proves nothing.
#[test]
fn the_checker_rejects_wrong_shapes() {
    let ops = load_spec();
    let schema_of = |method: &str, path: &str, status: u16| {
        find(&ops, method, path).unwrap().responses[&status]
            .clone()
            .unwrap()
    };
    let auth = schema_of("POST", "/api/v1/authenticate", 200);
    assert!(jsonschema::is_valid(
        &auth,
        &json!({ "auth_token": "a", "refresh_token": "b" })
    ));
    assert!(!jsonschema::is_valid(&auth, &json!({ "authToken": "a" })));
    assert!(!jsonschema::is_valid(&auth, &json!({ "auth_token": 1 })));
    let devices = schema_of("GET", "/api/v1/user/my/mfa/trusted_device", 200);
    assert!(jsonschema::is_valid(
        &devices,
        &json!([{ "id": 1, "operating_system": "x", "browser": "y", "activation_date": "z" }])
    ));
    assert!(!jsonschema::is_valid(&devices, &json!([{ "id": "1" }])));
    assert!(!jsonschema::is_valid(
        &devices,
        &json!([{ "id": 1, "fingerprint": "secret" }])
    ));
    let events = schema_of("GET", "/api/v1/user/my/event", 200);
    assert!(
        !jsonschema::is_valid(&events, &json!([{ "id": 1 }])),
        "required fields"
    );
    let alias = find(&ops, "DELETE", "/api/v1/user/mfa/trusted_device/7").unwrap();
    assert_eq!(
        alias.template,
        "/api/v1/user/{user_id}/mfa/trusted_device/{device_id}"
    );
    assert_eq!(
        find(&ops, "PATCH", "/api/v1/user/mfa/7").unwrap().template,
        "/api/v1/user/mfa/{key_id}"
    );
}
