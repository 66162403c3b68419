//! gatehouse's middleware as one [`Transform`]: what `build_app` used to
//! wrap layer by layer, so an app adds it with one `.wrap(…)`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::Error;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Extensions, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::middleware::from_fn;
use actix_web::web::Data;
use futures_util::future::LocalBoxFuture;

use crate::AppState;
use crate::session::store::DieselSessionStore;

/// The middleware an app wraps around its `App` (see [`crate::Gatehouse`]):
/// the session cookie and its upkeep, the CSRF guard on every `POST`,
/// `PUT`, `PATCH` and `DELETE`, error pages in the reader's language, the
/// security headers (only where a handler set none), the response deadline
/// (`GATEHOUSE_RESPONSE_TIMEOUT`: a request of any route, the app's too, not
/// answered within it gets `503`), timing and the access log, and cookies
/// signed under a previous secret. It also makes
/// gatehouse's state reachable from every request, so the extractors work in
/// the app's own handlers wherever they are mounted.
#[derive(Clone)]
pub struct Middleware {
    state: Data<AppState>,
}

impl Middleware {
    pub(crate) fn new(state: Data<AppState>) -> Self {
        Middleware { state }
    }
}

type Answer = LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, Error>>;
type Boxed = Box<
    dyn Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = Error, Future = Answer>,
>;

impl<S, B> Transform<S, ServiceRequest> for Middleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = WithState;
    type InitError = ();
    type Future = Pin<Box<dyn Future<Output = Result<WithState, ()>>>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            let store =
                DieselSessionStore::new(state.db.clone(), state.expiry, state.events.clone());
            let sessions = state
                .cookies
                .session_middleware(store, state.keys.session_cookie.clone());
            // Innermost first: upkeep sees the handler's session changes
            // before the session middleware writes them.
            let s = from_fn(crate::session::cookie::session_upkeep)
                .new_transform(service)
                .await?;
            let s = sessions.new_transform(s).await?;
            let s = from_fn(crate::session::cookie::store_failures_unavailable)
                .new_transform(s)
                .await?;
            // Once the body has arrived: an answer within
            // GATEHOUSE_RESPONSE_TIMEOUT, or 503 (the session's lookup and
            // save are inside).
            let s = from_fn(crate::web::deadline::answer_in_time)
                .new_transform(s)
                .await?;
            let s = from_fn(crate::web::input::refuse_nul)
                .new_transform(s)
                .await?;
            let s = from_fn(crate::auth::csrf::csrf_guard)
                .new_transform(s)
                .await?;
            // Error pages in the reader's language (also the CSRF guard's).
            let s = from_fn(crate::web::lang::localize_error_pages)
                .new_transform(s)
                .await?;
            let s = from_fn(crate::headers::security_headers)
                .new_transform(s)
                .await?;
            // Timing, metrics, the access log (never a query string: it may
            // carry a setup token) and `X-Request-Id`.
            let s = from_fn(crate::metrics::requests::observe)
                .new_transform(s)
                .await?;
            // Outermost: before anything parses the cookies, a session cookie
            // signed under an earlier secret is signed again under the
            // current one.
            let s = from_fn(crate::session::previous_keys::accept_previous_keys)
                .new_transform(s)
                .await?;
            let mut data = Extensions::new();
            data.insert(state.clone());
            data.insert(Data::new(state.cookies.clone()));
            Ok(WithState {
                data: Rc::new(data),
                inner: Box::new(BoxedBody { inner: s }),
            })
        })
    }
}

/// The layered service, with gatehouse's state added to each request.
pub struct WithState {
    data: Rc<Extensions>,
    inner: Boxed,
}

impl Service<ServiceRequest> for WithState {
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = Answer;

    actix_web::dev::forward_ready!(inner);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        req.add_data_container(self.data.clone());
        self.inner.call(req)
    }
}

/// A service whose answers' bodies are boxed, so the layers' body type can
/// be named.
struct BoxedBody<S> {
    inner: S,
}

impl<S, B> Service<ServiceRequest> for BoxedBody<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = Answer;

    actix_web::dev::forward_ready!(inner);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let answer = self.inner.call(req);
        Box::pin(async move { answer.await.map(|res| res.map_into_boxed_body()) })
    }
}
