//! Guards, in one place: who may reach admin pages and admin JSON.
//! Anonymous: a page answers 303 to `/signin?callbackUrl=…`, JSON 401.
//! Signed in without the right: 403.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::error::{AppError, PageError};
use crate::session::extract::{ApiUser, PageUser, SignedIn};

/// `Ok` when the signed-in user holds `permission` (from their role or their
/// own grants, read fresh on this request).
pub fn require_permission(user: &SignedIn, permission: &str) -> Result<(), AppError> {
    if user.user.can(permission) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub fn require_admin(user: &SignedIn) -> Result<(), AppError> {
    if user.user.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// An admin, for pages.
pub struct AdminPage(pub SignedIn);

impl FromRequest for AdminPage {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = PageUser::from_request(req, payload);
        Box::pin(async move {
            let PageUser(user) = user.await?;
            require_admin(&user)?;
            Ok(AdminPage(user))
        })
    }
}

/// An admin, for JSON.
pub struct AdminApi(pub SignedIn);

impl FromRequest for AdminApi {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = ApiUser::from_request(req, payload);
        Box::pin(async move {
            let ApiUser(user) = user.await?;
            require_admin(&user)?;
            Ok(AdminApi(user))
        })
    }
}
