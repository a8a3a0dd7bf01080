//! A remote host's server include (pure): gatehouse's own equivalent of SWAG's
//! `authentik-server.conf`, sending `auth_request` to this host's outpost container instead of
//! `authentik-server`, and the protected confs switched to include it. SWAG's own file is never
//! edited.

use super::{AUTHENTIK_SERVER, MARKER};

/// Where the include lives, as nginx (SWAG's `/config`) sees it.
pub const SERVER_INCLUDE_PATH: &str = "/config/nginx/gatehouse/authentik-server.conf";
/// The line a protected conf of a remote host has in its server block.
pub const SERVER_INCLUDE: &str = "include /config/nginx/gatehouse/authentik-server.conf;";
/// The include's folder and file name under SWAG's `/config`.
pub const SERVER_INCLUDE_DIR: &str = "nginx/gatehouse";
pub const SERVER_INCLUDE_FILE: &str = "authentik-server.conf";

/// The include's text for the outpost container `upstream` (reached on port 9000). The same
/// locations as SWAG's `authentik-server.conf` (2025/03/25), only the upstream differs.
pub fn server_include(upstream: &str) -> String {
    format!(
        "{MARKER} Do not edit: gatehouse rewrites or removes this file (GATEHOUSE_OUTPOST=remote).
## gatehouse: SWAG's authentik-server.conf with the upstream set to this host's outpost.

# location for authentik subfolder requests
location ^~ /outpost.goauthentik.io {{
    auth_request off; # requests to this subfolder must be accessible without authentication

    include /config/nginx/proxy.conf;
    include /config/nginx/resolver.conf;
    set $upstream_authentik {upstream};
    proxy_pass http://$upstream_authentik:9000;
}}

# location for authentik auth requests
location = /outpost.goauthentik.io/auth/nginx {{
    internal;

    include /config/nginx/proxy.conf;
    include /config/nginx/resolver.conf;
    set $upstream_authentik {upstream};
    proxy_pass http://$upstream_authentik:9000/outpost.goauthentik.io/auth/nginx;

    ## Include the Set-Cookie header if present
    auth_request_set $set_cookie $upstream_http_set_cookie;
    add_header Set-Cookie $set_cookie;

    proxy_pass_request_body off;
    proxy_set_header Content-Length \"\";
}}

# virtual location for authentik 401 redirects
location @goauthentik_proxy_signin {{
    internal;

    ## Include the Set-Cookie header if present
    auth_request_set $set_cookie $upstream_http_set_cookie;
    add_header Set-Cookie $set_cookie;

    ## Set the $target_url variable based on the original request
    set_escape_uri $target_url $scheme://$http_host$request_uri;

    ## Set the $signin_url variable
    set $signin_url https://$http_host/outpost.goauthentik.io/start?rd=$target_url;

    ## Redirect to login
    return 302 $signin_url;
}}
"
    )
}

/// A protected conf with SWAG's server include switched to gatehouse's (the active line in the
/// server block; nothing else changes). A conf without it is returned as it is: it still
/// includes SWAG's, which sends auth_request to `authentik-server`, absent on a remote host, so
/// nginx answers with an error rather than the app (fail closed).
pub fn use_server_include(conf: &str) -> String {
    let mut out = String::with_capacity(conf.len() + 16);
    for line in conf.split_inclusive('\n') {
        if line.trim() == AUTHENTIK_SERVER {
            let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
            out.push_str(&indent);
            out.push_str(SERVER_INCLUDE);
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_include_is_swags_with_the_upstream_changed() {
        let swag =
            include_str!("../../../../shared/reference/swag/config/nginx/authentik-server.conf");
        let ours = server_include("gatehouse-outpost-nas");
        let body = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
                .map(|l| l.replace("authentik-server;", "gatehouse-outpost-nas;"))
                .collect()
        };
        assert_eq!(body(swag), body(&ours));
        assert!(ours.starts_with(MARKER));
    }

    #[test]
    fn a_protected_conf_switches_include_and_stays_protected() {
        let conf = "server {\n    include /config/nginx/authentik-server.conf;\n    location / {\n        include /config/nginx/authentik-location.conf;\n    }\n}\n";
        let switched = use_server_include(conf);
        assert!(switched.contains(&format!("    {SERVER_INCLUDE}\n")));
        assert!(!switched.contains("include /config/nginx/authentik-server.conf;"));
        super::super::check_protected(&switched).expect("still protected");
        let open = "server {\n    location / {\n    }\n}\n";
        assert_eq!(use_server_include(open), open);
    }
}
