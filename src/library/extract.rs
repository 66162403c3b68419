//! Extractors for the app's own handlers. Each reads this request's session
//! view: the one join of the session row and the user row that gatehouse
//! makes at most once per request, so a handler with two of them still
//! costs one statement.
//!
//! | extractor | anonymous | signed in without the right |
//! |---|---|---|
//! | [`PageUser`] | `303` to `/signin?callbackUrl=…` | — |
//! | [`ApiUser`] | `401` JSON | — |
//! | [`MaybeUser`], [`PageViewer`] | `None` | — |
//! | [`AdminPage`] | `303` to sign in | `403` page |
//! | [`AdminApi`] | `401` JSON | `403` JSON |
//! | [`RequirePermission<P>`] | `401` JSON | `403` JSON |
//! | [`RequirePagePermission<P>`] | `303` to sign in | `403` page |
//!
//! A database that does not answer is `503` for all of them.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::auth::guard::require_permission;
use crate::error::{AppError, PageError};

pub use crate::auth::csrf::CsrfToken;
pub use crate::auth::guard::{AdminApi, AdminPage};
pub use crate::session::extract::{ApiUser, MaybeUser, PageUser, PageViewer, SignedIn};

/// A permission an extractor can require: declare one with
/// [`permission!`](crate::permission).
pub trait Permission {
    /// The permission string (`reports:read`), as roles and grants name it.
    const NAME: &'static str;
}

/// Declares a [`Permission`] type for [`RequirePermission`]:
///
/// ```
/// gatehouse::permission!(pub ReportsRead = "reports:read");
///
/// async fn report(
///     user: gatehouse::RequirePermission<ReportsRead>,
/// ) -> String {
///     format!("a report for {}", user.0.user.name)
/// }
/// # let _ = report;
/// ```
#[macro_export]
macro_rules! permission {
    ($vis:vis $name:ident = $permission:literal) => {
        #[doc = concat!("The permission `", $permission, "`.")]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::Permission for $name {
            const NAME: &'static str = $permission;
        }
    };
}

/// Signed in with the permission `P` (from the role or the user's own
/// grants, read fresh on this request), for JSON routes: `401` when
/// anonymous, `403` without it.
pub struct RequirePermission<P: Permission>(pub SignedIn, PhantomData<P>);

impl<P: Permission> FromRequest for RequirePermission<P> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = ApiUser::from_request(req, payload);
        Box::pin(async move {
            let ApiUser(user) = user.await?;
            require_permission(&user, P::NAME)?;
            Ok(RequirePermission(user, PhantomData))
        })
    }
}

/// [`RequirePermission`] for pages: anonymous visitors are sent to sign in,
/// a signed-in user without `P` gets the `403` page.
pub struct RequirePagePermission<P: Permission>(pub SignedIn, PhantomData<P>);

impl<P: Permission> FromRequest for RequirePagePermission<P> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = PageUser::from_request(req, payload);
        Box::pin(async move {
            let PageUser(user) = user.await?;
            require_permission(&user, P::NAME).map_err(PageError)?;
            Ok(RequirePagePermission(user, PhantomData))
        })
    }
}

/// The guard as a function, for handlers that decide which permission at
/// run time: `Ok` when `user` holds `permission`, `403` otherwise.
pub fn guard(user: &SignedIn, permission: &str) -> Result<(), AppError> {
    require_permission(user, permission)
}
