//! `/setup?token=…`: the one-time link that creates the first admin.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form_error::{FieldError as _, FormError};
use super::{Head, render, render_with_retry, see_other};
use crate::AppState;
use crate::auth::csrf::CsrfToken;
use crate::auth::{Registration, bootstrap};
use crate::error::{AppError, PageError};
use crate::session::extract::{PageViewer, begin_session, device_of};

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    head: Head,
    token: String,
    name: String,
    email: String,
    error: Option<FormError>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn expired() -> PageError {
    PageError(AppError::NotFound)
}

pub async fn page(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let token = query.token.clone();
    let valid = state
        .db
        .run(move |conn| bootstrap::setup_token_valid(conn, &token))
        .await?;
    if !valid {
        return Err(expired());
    }
    render(
        StatusCode::OK,
        &SetupPage {
            head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
            token: query.token.clone(),
            name: String::new(),
            email: String::new(),
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn submit(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    session: Session,
    form: web::Form<SetupForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let (db, policy) = (state.db.clone(), state.config.password_policy);
    let f = (
        form.token.clone(),
        form.name.clone(),
        form.email.clone(),
        form.password,
    );
    // The first admin's preference: the language this page was shown in.
    let lang = crate::i18n::Lang::negotiate(None, super::lang::accept_language(&req));
    let outcome = state
        .hasher
        .run(move || -> Result<i64, AppError> {
            let (token, name, email, password) = f;
            let registration =
                Registration::validate(&policy, &name, &email, &password)?.in_language(lang);
            // Spend the token first: of two requests racing with one link, only the
            // one that deletes it creates an admin.
            if !bootstrap::consume_setup_token(&mut *db.get()?, &token)? {
                return Err(AppError::NotFound);
            }
            registration.create(&db, "admin").inspect_err(|_| {
                // Nothing was created: the link stays usable.
                let _ = bootstrap::restore_setup_token(&db, &token);
            })
        })
        .await;
    match outcome {
        Ok(user_id) => {
            log::info!("first admin account created through the setup link");
            begin_session(&session, user_id, &device_of(&req), 1)?;
            Ok(see_other("/"))
        }
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_) | AppError::Busy)) => {
            render_with_retry(
                &e,
                &SetupPage {
                    head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
                    token: form.token,
                    name: form.name,
                    email: form.email,
                    // A taken address is the email field's.
                    error: Some(match e {
                        AppError::Conflict(_) => FormError::at("email", &e),
                        _ => FormError::of(&e),
                    }),
                },
            )
        }
        Err(AppError::NotFound) => Err(expired()),
        Err(e) => Err(e.into()),
    }
}
