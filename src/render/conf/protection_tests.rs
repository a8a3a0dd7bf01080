use super::*;

const GUARDED: &str = "server {\n    include /config/nginx/authentik-server.conf;\n    location / {\n        include /config/nginx/authentik-location.conf;\n    }\n";

#[test]
fn every_location_but_the_bypass_ones_must_be_guarded() {
    assert!(check_protected(&format!("{GUARDED}}}\n")).is_ok());
    let open_api =
        format!("{GUARDED}    location ~ (/x)?/api {{\n        proxy_pass http://x;\n    }}\n}}\n");
    let err = check_protected(&open_api).unwrap_err();
    assert_eq!(
        err,
        RenderError::NotProtected("authentik-location.conf in `location ~ (/x)?/api {`".into())
    );
    let bypass = format!("{GUARDED}    # bypass /api: served without authentik\n    location ~ ^/api(/|$) {{\n        proxy_pass http://x;\n    }}\n}}\n");
    assert!(check_protected(&bypass).is_ok());
    // One-line and named locations count too (a raw directive could write them).
    let one_line = format!("{GUARDED}    location /open {{ proxy_pass http://x; }}\n}}\n");
    assert_eq!(
        check_protected(&one_line).unwrap_err(),
        RenderError::NotProtected("authentik-location.conf in `location /open {`".into())
    );
    let named = format!("{GUARDED}    location @x {{ proxy_pass http://x; }}\n}}\n");
    assert!(check_protected(&named).is_err());
    // A location nested in a guarded one inherits its auth_request; in an open one it does not.
    let nested_ok = "server {\n    include /config/nginx/authentik-server.conf;\n    location / {\n        location /x { proxy_pass http://x; }\n        include /config/nginx/authentik-location.conf;\n    }\n}\n";
    assert!(check_protected(nested_ok).is_ok());
    let nested_open = format!("{GUARDED}    location /a {{\n        location /a/b {{ proxy_pass http://x; }}\n    }}\n}}\n");
    assert!(check_protected(&nested_open).is_err());
    // The bypass comment only marks the location on the very next line.
    let far = format!("{GUARDED}    # bypass /api: served without authentik\n\n    proxy_set_header A b;\n    location /api {{\n    }}\n}}\n");
    assert!(check_protected(&far).is_err());
    let commented = "server {\n    #include /config/nginx/authentik-server.conf;\n    location / {\n        include /config/nginx/authentik-location.conf;\n    }\n}\n";
    assert!(check_protected(commented).is_err());
}
