//! Requests made to the Docker engine and to authentik, counted where they are made (the edge),
//! by HTTP method and status code, for `/metrics` (`gatehouse_docker_requests_total`,
//! `gatehouse_authentik_requests_total`). A request that got no answer (refused connection,
//! timeout) counts under the code `<error>`, as client-go's `rest_client_requests_total` does.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The code a request that got no HTTP answer counts under.
pub(crate) const NO_ANSWER: &str = "<error>";

/// Counts by (method, code). A few dozen distinct keys at most: the lock is held for one
/// map update.
#[derive(Debug, Default)]
pub struct RequestCounts {
    counts: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl RequestCounts {
    pub(crate) const fn new() -> Self {
        Self {
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// One more request with `method` that ended with `code` (a status code, or [`NO_ANSWER`]).
    pub(crate) fn add(&self, method: &str, code: &str) {
        let method = static_method(method);
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry((method, code.to_owned())).or_insert(0) += 1;
        }
    }

    /// Every (method, code, count), sorted.
    pub fn snapshot(&self) -> Vec<(&'static str, String, u64)> {
        self.counts
            .lock()
            .map(|c| c.iter().map(|((m, c), n)| (*m, c.clone(), *n)).collect())
            .unwrap_or_default()
    }
}

/// The method as a static label value: the five gatehouse uses, anything else `OTHER` (a label
/// value never grows the set of series).
fn static_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        _ => "OTHER",
    }
}

/// Requests to the Docker engine(s).
pub static DOCKER: RequestCounts = RequestCounts::new();
/// Requests to authentik's API.
pub static AUTHENTIK: RequestCounts = RequestCounts::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_method_and_code_and_folds_unknown_methods() {
        let c = RequestCounts::new();
        c.add("GET", "200");
        c.add("GET", "200");
        c.add("POST", "409");
        c.add("BREW", NO_ANSWER);
        assert_eq!(
            c.snapshot(),
            vec![
                ("GET", "200".to_owned(), 2),
                ("OTHER", "<error>".to_owned(), 1),
                ("POST", "409".to_owned(), 1),
            ]
        );
    }
}
