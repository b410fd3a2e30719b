//! Bad input never crashes the bridge decoder, and every rejection of a JSON object names a
//! field (issue 2, item 12).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use proptest::prelude::*;
use qunzhu_connectors::bridge::decode_event;
use qunzhu_core::ConnectorId;
use serde_json::{Value, json};

fn valid_events() -> Vec<Value> {
    let group = json!({"id":"g1","name":"粉丝1群"});
    let actor = json!({"id":"u1","name":"小王","role":"member"});
    vec![
        json!({"id":"e1","time":"2026-11-22T10:00:00+08:00","type":"message","group":group,"actor":actor,
               "message":{"id":"m1","text":"大家好","segments":[{"type":"text","text":"hi"},{"type":"mention","id":"u2"},
               {"type":"link","url":"http://x"},{"type":"card","kind":"mini_program"}]}}),
        json!({"id":"e2","time":"2026-11-22T10:00:00Z","type":"member_joined","group":group,"actor":actor,
               "inviter":{"id":"u0"},"invite_code":"c1"}),
        json!({"id":"e3","time":"2026-11-22T10:00:00Z","type":"member_left","group":group,"actor":actor,"removed_by":{"id":"u0"}}),
        json!({"id":"e4","time":"2026-11-22T10:00:00Z","type":"join_request","group":group,"actor":actor,"request_id":"r1","comment":"hi"}),
        json!({"id":"e5","time":"2026-11-22T10:00:00Z","type":"message_deleted","group":group,"message":{"id":"m1"}}),
    ]
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        Just(json!("2026-11-22T10:00:00+08:00")),
        Just(json!("message")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path to a value inside `value`, as JSON pointers.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{k}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

/// A valid event with one spot replaced, removed, or its type changed.
fn mutated_event() -> impl Strategy<Value = Value> {
    (
        0..5usize,
        any::<prop::sample::Index>(),
        any_json(),
        any::<bool>(),
    )
        .prop_map(|(which, index, replacement, remove)| {
            let mut event = valid_events().swap_remove(which);
            let mut spots = Vec::new();
            pointers(&event, String::new(), &mut spots);
            let spot = index.get(&spots).clone();
            let (parent, key) = spot.rsplit_once('/').unwrap();
            match event.pointer_mut(parent) {
                Some(Value::Object(map)) if remove => {
                    map.remove(key);
                }
                Some(target) => {
                    if let Some(slot) = target.pointer_mut(&format!("/{key}")) {
                        *slot = replacement;
                    }
                }
                None => {}
            }
            event
        })
}

fn connector() -> ConnectorId {
    ConnectorId::new("shop")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_event(&connector(), &bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let _ = decode_event(&connector(), value.to_string().as_bytes());
    }

    #[test]
    fn a_rejected_mutation_names_the_field_at_fault(event in mutated_event()) {
        let body = event.to_string();
        if let Err(error) = decode_event(&connector(), body.as_bytes()) {
            prop_assert!(!error.field.is_empty(), "no field named for {body}: {error}");
            prop_assert!(!error.message.is_empty());
        }
        // The same mutation inside a batch is named with its index.
        let batch = json!([valid_events()[0].clone(), event]).to_string();
        if let Err(error) = decode_event(&connector(), batch.as_bytes()) {
            prop_assert!(error.field.starts_with("[1]"), "{batch}: {error}");
        }
    }
}

#[test]
fn all_valid_fixtures_decode() {
    for event in valid_events() {
        decode_event(&connector(), event.to_string().as_bytes()).unwrap();
    }
    assert_eq!(
        decode_event(
            &connector(),
            Value::Array(valid_events()).to_string().as_bytes()
        )
        .unwrap()
        .len(),
        5
    );
}
