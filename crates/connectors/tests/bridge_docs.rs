//! The event examples in docs/bridge.md are real: each one decodes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use qunzhu_connectors::bridge::decode_event;
use qunzhu_core::ConnectorId;

#[test]
fn every_event_example_in_the_bridge_docs_decodes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/bridge.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let mut checked = Vec::new();
    for block in docs.split("```json").skip(1) {
        let block = block.split("```").next().unwrap();
        let Ok(value) = serde_json::from_str::<serde_json::Value>(block) else {
            continue;
        };
        if value.get("time").is_none() {
            continue; // an action or answer, not an event
        }
        let events = decode_event(&ConnectorId::new("shop"), block.as_bytes())
            .unwrap_or_else(|e| panic!("docs example does not decode ({e}):\n{block}"));
        checked.push(events[0].kind.name());
    }
    assert_eq!(
        checked,
        [
            "message_posted",
            "member_joined",
            "member_left",
            "join_requested",
            "message_deleted"
        ]
    );
}
