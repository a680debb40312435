//! The `http` capability: outbound requests to the hosts granted to the step, nowhere else.

use crate::runtime::bindings::step::weft::plugin::http as wit;
use crate::runtime::call::{GrantedBy, Grants};
use crate::runtime::state::CallState;
use std::time::Instant;

/// The largest response body handed to a plugin.
pub(crate) const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

/// What the `http` import of one call may do.
pub(crate) struct HttpState {
    pub client: reqwest::Client,
    /// Everything granted to the call; its `http_hosts` are exact names or `*.domain` patterns.
    pub grants: Grants,
    pub step: String,
    pub granted_by: GrantedBy,
    /// When the call's time is up; a request gets what is left.
    pub deadline: Instant,
}

/// Whether `host` matches a grant: exactly (ignoring ASCII case), or as a subdomain of a
/// `*.domain` pattern.
pub(crate) fn host_allowed(grants: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    grants.iter().any(|grant| {
        let grant = grant.trim_end_matches('.').to_ascii_lowercase();
        match grant.strip_prefix("*.") {
            Some(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain)
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            }
            None => host == grant,
        }
    })
}

/// The message a refused host gets: what to add to the workflow or the channels file, as the
/// whole `allow:` that grants it beside what `grants` grant already.
pub(crate) fn denial(host: &str, step: &str, by: GrantedBy, grants: &Grants) -> String {
    let mut wanted = grants.clone();
    wanted.http_hosts.push(host.to_owned());
    by.denial(&format!("http to {host}"), step, host, grants, &wanted)
}

/// The borrowed view the generated `http` host trait is implemented on.
pub(crate) struct HttpView<'a> {
    state: &'a HttpState,
    denials: &'a mut Vec<String>,
    requests_sent: &'a mut u32,
}

impl HttpView<'_> {
    async fn fetch(&mut self, request: wit::Request) -> Result<wit::Response, String> {
        let url = reqwest::Url::parse(&request.url).map_err(|e| format!("`{}` is not a URL: {e}", request.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "only http and https URLs can be fetched, not `{}`",
                url.scheme()
            ));
        }
        let Some(host) = url.host_str() else {
            return Err(format!("`{}` names no host", request.url));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if !host_allowed(&self.state.grants.http_hosts, &host) {
            let message = denial(&host, &self.state.step, self.state.granted_by, &self.state.grants);
            self.denials.push(message.clone());
            return Err(message);
        }
        let remaining = self.state.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err("the step has no time left for an http request".into());
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("`{}` is not an http method", request.method))?;
        let mut builder = self
            .state
            .client
            .request(method, url)
            .timeout(remaining)
            .body(request.body);
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid header name"))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| format!("the value of header `{name}` is not valid"))?;
            builder = builder.header(name, value);
        }
        // Counted before it leaves: from here on, the vendor may have received it.
        *self.requests_sent += 1;
        let mut response = builder
            .send()
            .await
            .map_err(|e| format!("http request to {host} failed: {e}"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading the response from {host} failed: {e}"))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(format!(
                    "the response from {host} is larger than {MAX_RESPONSE_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(wit::Response { status, headers, body })
    }
}

impl wit::Host for HttpView<'_> {
    async fn fetch(&mut self, request: wit::Request) -> wasmtime::Result<Result<wit::Response, String>> {
        Ok(HttpView::fetch(self, request).await)
    }
}

struct HttpData;

impl wasmtime::component::HasData for HttpData {
    type Data<'a> = HttpView<'a>;
}

/// Links the `http` import.
pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<CallState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<CallState, HttpData>(linker, |state| HttpView {
        state: &state.http,
        denials: &mut state.denials,
        requests_sent: &mut state.requests_sent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_hosts_and_subdomain_patterns() {
        let g = grants(&["api.example.com", "*.shop.de"]);
        assert!(host_allowed(&g, "api.example.com"));
        assert!(host_allowed(&g, "API.Example.com."));
        assert!(!host_allowed(&g, "example.com"));
        assert!(!host_allowed(&g, "evil-api.example.com"));
        assert!(host_allowed(&g, "eu.shop.de"));
        assert!(host_allowed(&g, "a.b.shop.de"));
        assert!(!host_allowed(&g, "shop.de"));
        assert!(!host_allowed(&g, "myshop.de"));
        assert!(!host_allowed(&[], "127.0.0.1"));
    }

    #[test]
    fn denial_says_what_to_add() {
        let none = Grants::default();
        assert_eq!(
            denial("api.example.com", "notify", GrantedBy::Workflow, &none),
            "http to api.example.com is not allowed for step `notify`: add `allow: { http: [api.example.com] }` to the step"
        );
        assert_eq!(
            denial("api.example.com", "shop-de", GrantedBy::ChannelsFile, &none),
            "http to api.example.com is not allowed for channel `shop-de`: add `allow: { http: [api.example.com] }` to channel `shop-de` in the channels file"
        );
        // What is granted already stays in the line to paste; patterns are quoted for YAML.
        let some = Grants {
            http_hosts: grants(&["*.myshopify.com"]),
            secrets: grants(&["shop_token"]),
            embeddings: false,
            smtp: None,
        };
        assert_eq!(
            denial("127.0.0.1", "shop-de", GrantedBy::ChannelsFile, &some),
            "http to 127.0.0.1 is not allowed for channel `shop-de`: add 127.0.0.1 to channel `shop-de` in the channels file: `allow: { http: [\"*.myshopify.com\", 127.0.0.1], secrets: [shop_token] }`"
        );
        let step = Grants {
            embeddings: true,
            ..Grants::default()
        };
        assert_eq!(
            denial("::1", "route", GrantedBy::Workflow, &step),
            "http to ::1 is not allowed for step `route`: add ::1 to the step: `allow: { http: [\"::1\"], embeddings: true }`"
        );
    }
}
