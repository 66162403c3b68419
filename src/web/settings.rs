//! `/settings`: profile, preferences and password (the email change is in
//! `email_change`, which shows its errors on this page).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Head, render, render_with_retry, see_page};
use crate::AppState;
use crate::auth::csrf::CsrfToken;
use crate::error::{AppError, PageError};
use crate::i18n::Msg;
use crate::session::extract::{PageUser, SignedIn, device_of};
use crate::users::{self, LANGUAGES, SelfUpdate, THEMES};

/// Which form an error or a confirmation belongs to.
struct Notice {
    form: &'static str,
    text: Msg,
    /// The field the error belongs to, when one is wrong.
    field: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    head: Head,
    name: String,
    image: String,
    theme: String,
    language: String,
    themes: &'static [&'static str],
    languages: &'static [(&'static str, &'static str)],
    error: Option<Notice>,
    saved: Option<Notice>,
    /// Linked providers, and the enabled ones not linked yet (GET only).
    linked: Vec<LinkedView>,
    linkable: Vec<(&'static str, String)>,
    /// The new address as typed in the email change form.
    new_email: String,
    /// Whether the user has a password, when this request read it: the
    /// email change form asks for it unless it is known there is none.
    has_password: Option<bool>,
    /// The address as typed in the account deletion form.
    delete_email: String,
}

struct LinkedView {
    id: String,
    name: String,
    email: String,
    needs_reauth: bool,
}

impl SettingsPage {
    fn new(signed_in: &SignedIn, csrf: String, req: &HttpRequest) -> Self {
        let u = &signed_in.user;
        SettingsPage {
            name: u.name.clone(),
            image: u.image.clone().unwrap_or_default(),
            theme: u.theme.clone(),
            language: u.language.clone(),
            head: Head::new(Some(signed_in), Some(csrf), req),
            themes: &THEMES,
            languages: &LANGUAGES,
            error: None,
            saved: None,
            linked: Vec::new(),
            linkable: Vec::new(),
            new_email: String::new(),
            has_password: None,
            delete_email: String::new(),
        }
    }

    /// The email change form shows the current password field.
    fn asks_password(&self) -> bool {
        self.has_password != Some(false)
    }

    /// The field must be filled in (the user is known to have a password).
    fn needs_password(&self) -> bool {
        self.has_password == Some(true)
    }

    fn is_theme(&self, t: &str) -> bool {
        self.theme == t
    }

    /// The error's message when it belongs to `field` of `form`.
    fn invalid(&self, form: &str, field: &str) -> Option<&Msg> {
        self.error
            .as_ref()
            .filter(|n| n.form == form && n.field == Some(field))
            .map(|n| &n.text)
    }

    /// A theme's name in the reader's language (the option's value stays).
    fn theme_label(&self, t: &str) -> String {
        self.head.t.get(&format!("theme-{t}"))
    }

    /// The error on `form`, tied to the field it names; a wrong current
    /// password is `current_password`'s, a taken address `email`'s.
    fn with_error(mut self, form: &'static str, e: &AppError) -> Self {
        let field = match e {
            AppError::Invalid { field, .. } => Some(*field),
            AppError::BadCredentials => Some("current_password"),
            AppError::Conflict(_) => Some("email"),
            _ => None,
        };
        self.error = Some(Notice {
            form,
            text: e.msg(),
            field,
        });
        self
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    query: web::Query<SavedQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let mut page = SettingsPage::new(&user.0, csrf.0, &req);
    let user_id = user.0.user.id;
    // With no provider configured there is nothing to link: the page stays at
    // the one statement of every signed-in view. With one, a user may have
    // no password, and the email form then asks for none.
    let (linked, has_password) = if state.oauth.providers.is_empty() {
        (Vec::new(), None)
    } else {
        state
            .db
            .run(move |conn| {
                let linked = crate::oauth::accounts::linked(conn, user_id)?;
                let has_password = users::password_hash_of(conn, user_id)?.is_some();
                Ok((linked, Some(has_password)))
            })
            .await?
    };
    page.has_password = has_password;
    let name_of = |id: &str| {
        state
            .oauth
            .provider(id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    page.linkable = state
        .oauth
        .providers
        .iter()
        .filter(|p| !linked.iter().any(|l| l.provider == p.id))
        .map(|p| (p.id, p.name.clone()))
        .collect();
    page.linked = linked
        .into_iter()
        .map(|l| LinkedView {
            name: name_of(&l.provider),
            id: l.provider,
            email: l.email,
            needs_reauth: l.needs_reauth,
        })
        .collect();
    page.saved = match query.saved.as_deref() {
        Some("profile") => Some(("profile", "saved-profile")),
        Some("preferences") => Some(("preferences", "saved-preferences")),
        Some("password") => Some(("password", "saved-password")),
        Some("linked") => Some(("accounts", "saved-linked")),
        Some("verification") => Some(("email", "saved-verification")),
        Some("verified") => Some(("email", "saved-verified")),
        Some("email-change") => Some(("email", "saved-email-change")),
        Some("email") => Some(("email", "saved-email")),
        Some("unlinked") => Some(("accounts", "saved-unlinked")),
        _ => None,
    }
    .map(|(form, key)| Notice {
        form,
        text: Msg::key(key),
        field: None,
    });
    render(StatusCode::OK, &page)
}

/// The settings page again with an error on the email change form, keeping
/// the typed address, with the error's status (and `Retry-After`).
pub(super) fn email_change_refused(
    req: &HttpRequest,
    signed_in: &SignedIn,
    csrf: String,
    typed: &str,
    has_password: Option<bool>,
    e: &AppError,
    text: Option<Msg>,
) -> Result<HttpResponse, PageError> {
    let mut page = SettingsPage::new(signed_in, csrf, req).with_error("email", e);
    if let (Some(text), Some(notice)) = (text, page.error.as_mut()) {
        notice.text = text;
    }
    page.new_email = typed.to_owned();
    page.has_password = has_password;
    render_with_retry(e, &page)
}

/// The settings page again with an error on the account deletion form
/// (a typed address that is not the account's, the last admin), keeping what
/// was typed, with the error's status.
pub(super) fn delete_refused(
    req: &HttpRequest,
    signed_in: &SignedIn,
    csrf: String,
    typed: &str,
    e: &AppError,
) -> Result<HttpResponse, PageError> {
    let mut page = SettingsPage::new(signed_in, csrf, req).with_error("delete", e);
    if let (AppError::Conflict(_), Some(notice)) = (e, page.error.as_mut()) {
        // The last admin: no field is wrong.
        notice.field = None;
    }
    page.delete_email = typed.to_owned();
    render_with_retry(e, &page)
}

/// Runs a self-update; answers the error to show, or redirects on success.
async fn apply(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    parties: (i64, i64),
    change: Result<SelfUpdate, AppError>,
) -> Result<Result<(), AppError>, PageError> {
    let change = match change {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let device = device_of(req);
    state
        .db
        .run(move |conn| users::update_self_audited(conn, parties, change, &device))
        .await
        .map_err(PageError)?;
    state.events.user_changed(parties.1).await;
    Ok(Ok(()))
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    image: String,
}

pub async fn profile(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    form: web::Form<ProfileForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let change = (|| {
        Ok(SelfUpdate {
            name: Some(users::validate_name(&form.name).map_err(|m| AppError::invalid("name", m))?),
            image: Some(
                users::validate_image(&form.image).map_err(|m| AppError::invalid("image", m))?,
            ),
            ..Default::default()
        })
    })();
    match apply(&state, &req, user.0.audit_parties(), change).await? {
        Ok(()) => Ok(see_page(&state.config.mount, "/settings?saved=profile")),
        Err(e) => {
            let mut page = SettingsPage::new(&user.0, csrf.0, &req).with_error("profile", &e);
            page.name = form.name.clone();
            page.image = form.image.clone();
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

#[derive(Deserialize)]
pub struct PreferencesForm {
    #[serde(default)]
    theme: String,
    #[serde(default)]
    language: String,
}

pub async fn preferences(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    form: web::Form<PreferencesForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let change = (|| {
        Ok(SelfUpdate {
            theme: Some(
                users::validate_theme(&form.theme).map_err(|m| AppError::invalid("theme", m))?,
            ),
            language: Some(
                users::validate_language(&form.language)
                    .map_err(|m| AppError::invalid("language", m))?,
            ),
            ..Default::default()
        })
    })();
    match apply(&state, &req, user.0.audit_parties(), change).await? {
        Ok(()) => Ok(see_page(&state.config.mount, "/settings?saved=preferences")),
        Err(e) => {
            let mut page = SettingsPage::new(&user.0, csrf.0, &req).with_error("preferences", &e);
            // The typed language stays; a theme that is not one of the
            // choices cannot be shown by the select.
            page.language = form.language.clone();
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// Changes the password: every session of the user ends, and this device gets a
/// fresh one.
pub async fn password(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    session: Session,
    form: web::Form<PasswordForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    crate::auth::guard::refuse_while_impersonating(&req, &user.0, "password").await?;
    crate::auth::fresh::require_fresh(
        &user.0,
        state.config.session_fresh_age,
        &state.config.mount.join("/settings"),
    )?;
    let form = form.into_inner();
    let user_id = user.0.user.id;
    let db = state.db.clone();
    let policy = state.config.password_policy;
    let account = (user.0.user.name.clone(), user.0.user.email.clone());
    // A wrong current password counts as a failed sign-in of this account.
    let attempt = crate::auth::attempts::Attempt {
        email: user.0.user.email.clone(),
        user_id: Some(user_id),
        method: "current_password",
        device: device_of(&req),
    };
    let outcome = crate::auth::attempts::checked(
        &state.db,
        &state.hasher,
        &state.config.rate_limits,
        attempt,
        move || {
            crate::auth::change_password(
                &db,
                &policy,
                user_id,
                &form.current_password,
                &form.new_password,
                &[&account.0, &account.1],
            )
        },
    )
    .await;
    match outcome {
        Ok(()) => {
            state
                .events
                .sessions_of_ended(user_id, crate::events::Reason::PasswordChanged)
                .await;
            crate::session::extract::begin_session_audited(
                &session,
                user_id,
                &device_of(&req),
                // The new session proves what this one did.
                user.0.aal,
                crate::audit::action::PASSWORD_CHANGED,
                serde_json::json!({}),
            )?;
            Ok(see_page(&state.config.mount, "/settings?saved=password"))
        }
        Err(
            e @ (AppError::BadCredentials
            | AppError::Invalid { .. }
            | AppError::Busy
            | AppError::RateLimited { .. }),
        ) => {
            let mut page = SettingsPage::new(&user.0, csrf.0, &req).with_error("password", &e);
            if let (AppError::BadCredentials, Some(notice)) = (&e, page.error.as_mut()) {
                notice.text = Msg::key("wrong-current-password");
            }
            render_with_retry(&e, &page)
        }
        Err(e) => Err(e.into()),
    }
}
