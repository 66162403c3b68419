//! The HTTP client for provider calls: ureq (blocking; these calls run on
//! blocking threads), short timeouts, no redirects (a token endpoint that
//! redirects is refused rather than followed), bodies capped at 1 MiB.
//! Error statuses come back as responses, so `oauth2` can read a provider's
//! `{"error": "invalid_grant"}`.

use std::io::Read;
use std::time::Duration;

use serde::de::DeserializeOwned;

const MAX_BODY: u64 = 1 << 20;

#[derive(Debug)]
pub struct HttpError(pub String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

#[derive(Clone)]
pub struct ProviderHttp {
    agent: ureq::Agent,
}

impl ProviderHttp {
    pub fn new(timeout: Duration) -> Self {
        ProviderHttp {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(timeout.min(Duration::from_secs(5)))
                .timeout(timeout)
                .redirects(0)
                .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
                .build(),
        }
    }

    fn finish(response: ureq::Response) -> Result<(u16, Vec<u8>, Option<String>), HttpError> {
        let status = response.status();
        let content_type = response.header("content-type").map(str::to_string);
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|e| HttpError(format!("reading the answer: {e}")))?;
        Ok((status, body, content_type))
    }

    fn send(
        &self,
        request: ureq::Request,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>, Option<String>), HttpError> {
        let sent = match body {
            Some(b) => request.send_bytes(b),
            None => request.call(),
        };
        match sent {
            Ok(r) | Err(ureq::Error::Status(_, r)) => Self::finish(r),
            Err(ureq::Error::Transport(t)) => Err(HttpError(format!("{}", t.kind()))),
        }
    }

    /// GET `url` with a bearer token; 2xx JSON into `T`.
    pub fn get_json<T: DeserializeOwned>(&self, url: &str, bearer: &str) -> Result<T, HttpError> {
        let request = self
            .agent
            .get(url)
            .set("Authorization", &format!("Bearer {bearer}"))
            .set("Accept", "application/json");
        let (status, body, _) = self.send(request, None)?;
        if !(200..300).contains(&status) {
            return Err(HttpError(format!("{url} answered {status}")));
        }
        serde_json::from_slice(&body).map_err(|e| HttpError(format!("{url}: malformed JSON ({e})")))
    }
}

impl oauth2::SyncHttpClient for ProviderHttp {
    type Error = HttpError;

    fn call(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        let uri = request.uri().to_string();
        let mut req = if request.method() == oauth2::http::Method::POST {
            self.agent.post(&uri)
        } else {
            self.agent.get(&uri)
        };
        for (name, value) in request.headers() {
            let value = value
                .to_str()
                .map_err(|_| HttpError(format!("header {name} is not text")))?;
            req = req.set(name.as_str(), value);
        }
        let body =
            (request.method() == oauth2::http::Method::POST).then(|| request.body().as_slice());
        let (status, body, content_type) = self.send(req, body)?;
        let mut builder = oauth2::http::Response::builder().status(status);
        if let Some(ct) = content_type {
            builder = builder.header(oauth2::http::header::CONTENT_TYPE, ct);
        }
        builder
            .body(body)
            .map_err(|e| HttpError(format!("answer: {e}")))
    }
}
