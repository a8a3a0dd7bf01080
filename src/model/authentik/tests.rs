use super::*;

#[test]
fn versions_parse_and_gate_the_invalidation_flow() {
    let v = ServerVersion::parse("2024.10.3").unwrap();
    assert_eq!(v, ServerVersion::new(2024, 10));
    assert!(v.has_invalidation_flow());
    assert!(!ServerVersion::parse("2024.8.1")
        .unwrap()
        .has_invalidation_flow());
    assert!(ServerVersion::parse("2026.5.6")
        .unwrap()
        .has_invalidation_flow());
    assert_eq!(
        ServerVersion::parse("2025.2.0-rc1"),
        Some(ServerVersion::new(2025, 2))
    );
    assert_eq!(ServerVersion::parse("banana"), None);
}

#[test]
fn missing_and_unknown_fields_are_fine() {
    let p: ProxyProvider =
        serde_json::from_str(r#"{"pk": 3, "name": "x", "brand_new_field": [1]}"#).unwrap();
    assert_eq!(p.pk, 3);
    assert_eq!(p.invalidation_flow, None);
    let page: Page<Application> = serde_json::from_str(
        r#"{"pagination": {"next": 0, "count": 1}, "results": [{"slug": "a", "group": null}]}"#,
    )
    .unwrap();
    assert_eq!(page.results[0].slug, "a");
    assert_eq!(page.results[0].group, None);
}

fn provider_held(mode: Option<&str>) -> ProxyProvider {
    ProxyProvider {
        pk: 4,
        name: "gatehouse:jf".into(),
        authorization_flow: Some("authz".into()),
        invalidation_flow: Some("inval".into()),
        external_host: "https://jf.example.com".into(),
        skip_path_regex: String::new(),
        mode: mode.map(str::to_owned),
        assigned_application_slug: Some("jf".into()),
    }
}

fn provider_wanted() -> ProviderCreate {
    ProviderCreate {
        name: "gatehouse:jf".into(),
        authorization_flow: "authz".into(),
        invalidation_flow: Some("inval".into()),
        external_host: "https://jf.example.com".into(),
        mode: ProxyMode::ForwardSingle,
        skip_path_regex: "^/api(/|$)".into(),
    }
}

#[test]
fn a_provider_patch_holds_what_differs_and_is_sent_with_its_mode() {
    let patch = ProviderPatch::between(&provider_held(Some("forward_single")), &provider_wanted());
    let changed: Vec<String> = patch.fields().keys().cloned().collect();
    assert_eq!(changed, ["skip_path_regex"]);
    // authentik validates a patch without mode as one of a proxy-mode provider.
    assert_eq!(
        serde_json::to_value(patch.request()).unwrap(),
        serde_json::json!({"mode": "forward_single", "skip_path_regex": "^/api(/|$)"})
    );
    let same = ProviderPatch::between(
        &ProxyProvider {
            skip_path_regex: "^/api(/|$)".into(),
            ..provider_held(Some("forward_single"))
        },
        &provider_wanted(),
    );
    assert!(same.is_empty(), "{same:?}");
    let moded = ProviderPatch::between(&provider_held(Some("proxy")), &provider_wanted());
    assert_eq!(moded.mode, Some(ProxyMode::ForwardSingle));
}

#[test]
fn an_app_patch_holds_only_set_fields_that_differ() {
    let held = Application {
        pk: "pk".into(),
        slug: "jf".into(),
        name: "Jellyfin".into(),
        group: Some(String::new()),
        meta_publisher: Some("gatehouse".into()),
        meta_description: Some("films".into()),
        ..Application::default()
    };
    let wanted = AppCreate {
        name: "Jelly".into(),
        slug: "jf".into(),
        meta_publisher: "gatehouse".into(),
        group: Some("Media".into()),
        ..AppCreate::default()
    };
    let patch = AppPatch::between(&held, &wanted);
    assert_eq!(
        serde_json::to_value(&patch).unwrap(),
        serde_json::json!({"group": "Media", "name": "Jelly"})
    );
    let body = BindingCreate::group("g", "t", 7);
    assert_eq!(
        serde_json::to_value(body).unwrap(),
        serde_json::json!({"group": "g", "target": "t", "order": 7, "enabled": true, "negate": false, "timeout": 30})
    );
}

#[test]
fn redirect_uris_are_a_list_from_2024_8_5_and_2024_10_3() {
    for (raw, list) in [
        ("2024.2.3", false),
        ("2024.6.4", false),
        ("2024.8.4", false),
        ("2024.8.5", true),
        ("2024.10.2", false),
        ("2024.10.3", true),
        ("2024.12.0", true),
        ("2026.5.6", true),
        ("garbage", true),
    ] {
        assert_eq!(super::redirect_uris_as_list(raw), list, "{raw}");
    }
    assert_eq!(
        ServerVersion::new(2024, 6).scope_mappings_path(),
        "/propertymappings/scope/"
    );
    assert!(ServerVersion::new(2026, 5).has_grant_types());
    assert!(!ServerVersion::new(2026, 2).has_grant_types());
}
