//! Reading a list endpoint page by page.

use hyper::Method;
use serde::de::DeserializeOwned;

use super::transport::{encode, Client, NO_BODY};
use super::ApiError;
use crate::model::authentik::{Page, PolicyBinding};

const PAGE_SIZE: u32 = 100;
/// No list gatehouse reads has more pages than this.
const MAX_PAGES: u32 = 10_000;

impl Client {
    /// Every object of a list endpoint, page by page. `query` is appended (already encoded).
    pub(super) async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let sep = if query.is_empty() { "" } else { "&" };
            let url = format!("{path}?page={page}&page_size={PAGE_SIZE}{sep}{query}");
            let p: Page<T> = self.json(Method::GET, &url, NO_BODY).await?;
            let got = p.results.len();
            out.extend(p.results);
            match next_page(page, p.pagination.next, got) {
                Some(n) => page = n,
                None => break,
            }
        }
        Ok(out)
    }

    /// Bindings on one target; authentik refusing the target (it was deleted meanwhile) is no
    /// binding.
    pub(super) async fn bindings_of(&self, target: &str) -> Result<Vec<PolicyBinding>, ApiError> {
        let q = format!("target_in={}", encode(target));
        match self.list("/policies/bindings/", &q).await {
            Err(e) if e.status() == Some(400) => {
                tracing::debug!(target = %target, error = %e, "authentik no longer knows this binding target");
                Ok(Vec::new())
            }
            other => other,
        }
    }
}

/// The page after `page`, from the `next` authentik reported (0 on the last page). `None` also
/// when `next` does not move forward or the page was empty: a server that misreports cannot
/// keep gatehouse looping.
fn next_page(page: u32, next: f64, got: usize) -> Option<u32> {
    if next < 1.0 || got == 0 {
        return None;
    }
    let next = next as u32;
    if next <= page || page >= MAX_PAGES {
        tracing::warn!(
            page,
            next,
            "authentik's list pagination does not move forward; reading no further pages"
        );
        return None;
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_follows_next_only_forward() {
        assert_eq!(next_page(1, 2.0, 100), Some(2));
        assert_eq!(next_page(1, 0.0, 100), None);
        assert_eq!(next_page(2, 2.0, 100), None);
        assert_eq!(next_page(3, 1.0, 100), None);
        assert_eq!(next_page(1, 2.0, 0), None);
    }
}
