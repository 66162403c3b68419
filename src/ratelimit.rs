//! Rate limits kept in the database (`rate_limits`), so every instance behind
//! a load balancer shares them: fixed windows of `limit` hits per `window`,
//! counted with one atomic upsert. Only password attempts (see
//! `auth::attempts`), sign-ups, mails (see `email::budget`) and state-changing
//! JSON calls count: page views never write here.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::db::DbConn;
use crate::db::schema::rate_limits as rl;

/// `limit` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub window: Duration,
}

/// The configured rules; `None` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed sign-ins, per (account, client IP) pair and per client IP
    /// (`RATE_LIMIT_SIGNIN`).
    pub signin: Option<Rule>,
    /// Failed sign-ins per account across all addresses
    /// (`RATE_LIMIT_SIGNIN_ACCOUNT`), much higher so no stranger locks an
    /// owner out with a few guesses.
    pub signin_account: Option<Rule>,
    /// Sign-ups per client IP (`RATE_LIMIT_SIGNUP`).
    pub signup: Option<Rule>,
    /// State-changing JSON API calls per client IP (`RATE_LIMIT_API`).
    pub api: Option<Rule>,
    /// Mails (reset, verification) per address and, separately, per client
    /// IP (`RATE_LIMIT_EMAIL`).
    pub email: Option<Rule>,
}

impl Default for Limits {
    fn default() -> Self {
        let rule = |limit, secs| {
            Some(Rule {
                limit,
                window: Duration::from_secs(secs),
            })
        };
        Limits {
            signin: rule(5, 15 * 60),
            signin_account: rule(100, 60 * 60),
            signup: rule(10, 60 * 60),
            api: rule(300, 60),
            email: rule(5, 60 * 60),
        }
    }
}

/// The client a per-address counter counts. An IPv4 address counts as
/// itself; an IPv6 address by its /64 network, because one subscriber is
/// usually handed a whole /64 and could otherwise take a fresh address for
/// every guess; an IPv4-mapped IPv6 address as the IPv4 one. A value that is
/// no address (a test without a peer) counts as itself.
pub fn client_key(ip: &str) -> String {
    use std::net::IpAddr;
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => ipnet::Ipv6Net::new(v6, 64)
                .map(|net| net.trunc().to_string())
                .unwrap_or_else(|_| v6.to_string()),
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// `5/15m` (5 per 15 minutes), or `off`.
pub fn parse_rule(raw: &str) -> Result<Option<Rule>, String> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("off") || raw == "0" {
        return Ok(None);
    }
    let bad = || format!("`{raw}` is not a limit like 5/15m (or `off`)");
    let (count, window) = raw.split_once('/').ok_or_else(bad)?;
    let limit: u32 = count.trim().parse().map_err(|_| bad())?;
    let window = crate::config::parse_duration(window).map_err(|_| bad())?;
    if limit == 0 || window.is_zero() {
        return Err(bad());
    }
    Ok(Some(Rule { limit, window }))
}

/// "1 minute", "14 minutes", "30 seconds", as a message in any language.
pub fn human(secs: u64) -> crate::i18n::Msg {
    let (key, n) = match secs {
        0..=59 => ("wait-seconds", secs.max(1)),
        60..=3599 => ("wait-minutes", secs.div_ceil(60)),
        _ => ("wait-hours", secs.div_ceil(3600)),
    };
    crate::i18n::Msg::key(key).number("count", i64::try_from(n).unwrap_or(i64::MAX))
}

fn window(rule: &Rule) -> chrono::Duration {
    chrono::Duration::from_std(rule.window).unwrap_or(chrono::Duration::days(1))
}

fn retry_after(start: NaiveDateTime, rule: &Rule, now: NaiveDateTime) -> u64 {
    let left = start + window(rule) - now;
    (left.num_milliseconds().max(0) as u64)
        .div_ceil(1000)
        .max(1)
}

/// `Some(seconds)` when `key` has used up its window already (nothing counted).
pub fn peek(conn: &mut DbConn, key: &str, rule: &Rule) -> QueryResult<Option<u64>> {
    let now = Utc::now().naive_utc();
    let row: Option<(NaiveDateTime, i32)> = rl::table
        .find(key)
        .select((rl::window_start, rl::hits))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((start, hits)) if start + window(rule) > now && hits as u64 >= rule.limit as u64 => {
            Some(retry_after(start, rule, now))
        }
        _ => None,
    })
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Integer)]
    hits: i32,
    #[diesel(sql_type = Timestamp)]
    window_start: NaiveDateTime,
}

/// One counted hit.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    /// Hits in the current window, this one included.
    pub hits: u64,
    pub limit: u64,
    /// Seconds until the window ends.
    pub retry_after: u64,
    /// The window this hit was counted in (for `take_back`).
    window_start: NaiveDateTime,
}

impl Hit {
    /// `Some(seconds)` when this hit is over the limit (refuse it).
    pub fn refused(&self) -> Option<u64> {
        (self.hits > self.limit).then_some(self.retry_after)
    }

    /// This hit used up the window: the moment to record a trip, once.
    pub fn exhausted_now(&self) -> bool {
        self.hits == self.limit
    }

    /// This hit is the first one refused: the moment to record a trip, once.
    pub fn first_refused(&self) -> bool {
        self.hits == self.limit + 1
    }
}

/// Counts one hit for `key`.
pub fn hit(conn: &mut DbConn, key: &str, rule: &Rule) -> QueryResult<Hit> {
    let now = Utc::now().naive_utc();
    let cutoff = now - window(rule);
    // One statement, atomic on both backends: a new window starts when the
    // stored one has ended.
    let sql = match conn {
        DbConn::Sqlite(_) => {
            "INSERT INTO rate_limits (key, window_start, hits) VALUES (?, ?, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             hits = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.hits + 1 END, \
             window_start = CASE WHEN rate_limits.window_start <= ? \
                 THEN excluded.window_start ELSE rate_limits.window_start END \
             RETURNING hits, window_start"
        }
        DbConn::Postgres(_) => {
            "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
             window_start = CASE WHEN rate_limits.window_start <= $4 \
                 THEN excluded.window_start ELSE rate_limits.window_start END \
             RETURNING hits, window_start"
        }
    };
    let c: Counted = diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(cutoff)
        .bind::<Timestamp, _>(cutoff)
        .get_result(conn)?;
    Ok(Hit {
        hits: c.hits.max(0) as u64,
        limit: rule.limit as u64,
        retry_after: retry_after(c.window_start, rule, now),
        window_start: c.window_start,
    })
}

/// Takes one counted hit back, if its window is still the current one (a new
/// window never held it).
pub fn take_back(conn: &mut DbConn, key: &str, hit: &Hit) -> QueryResult<()> {
    diesel::update(
        rl::table
            .find(key)
            .filter(rl::window_start.eq(hit.window_start))
            .filter(rl::hits.gt(0)),
    )
    .set(rl::hits.eq(rl::hits - 1))
    .execute(conn)?;
    Ok(())
}

/// The audit event of a limit that has just tripped.
pub fn trip<'a>(
    device: &'a crate::session::Device,
    limit: &str,
    key: &str,
    retry_after: u64,
) -> crate::audit::Event<'a> {
    crate::audit::Event {
        actor_id: None,
        target_id: None,
        action: crate::audit::action::RATE_LIMITED,
        device: Some(device),
        details: serde_json::json!({"limit": limit, "key": key, "retry_after": retry_after}),
    }
}

/// The longest window of the rules in force: a counter younger than this may
/// still be counting (the sweeper keeps it).
pub fn longest_window(limits: &Limits) -> Duration {
    [
        limits.signin,
        limits.signin_account,
        limits.signup,
        limits.api,
        limits.email,
    ]
    .iter()
    .flatten()
    .map(|rule| rule.window)
    .max()
    .unwrap_or(Duration::ZERO)
}

/// Middleware for the JSON API scopes: each state-changing call (not GET,
/// HEAD or OPTIONS) counts against the client IP's `RATE_LIMIT_API` budget;
/// over it, `429 {"error":"rate_limited"}` with `Retry-After`.
pub async fn api_budget(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::Method;
    let reading = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Reads pass straight through: nothing is looked up or counted for them.
    if !reading
        && let Some(state) = req
            .app_data::<actix_web::web::Data<crate::AppState>>()
            .cloned()
        && let Some(rule) = state.config.rate_limits.api
    {
        let device = crate::session::extract::device_of(req.request());
        let key = format!("api:ip:{}", client_key(&device.ip));
        let over = state
            .db
            .run(move |conn| {
                let hit = hit(conn, &key, &rule)?;
                if hit.first_refused() {
                    crate::audit::record(conn, trip(&device, "api", &key, hit.retry_after))?;
                }
                Ok(hit.refused())
            })
            .await;
        match over {
            Ok(None) => {}
            Ok(Some(retry_after)) => {
                state.metrics.rate_limit_trip("api");
                let e = crate::error::AppError::RateLimited { retry_after };
                return Ok(req.error_response(e));
            }
            Err(e) => return Ok(req.error_response(e)),
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_messages_read_well() {
        assert_eq!(
            parse_rule("5/15m").unwrap(),
            Some(Rule {
                limit: 5,
                window: Duration::from_secs(900)
            })
        );
        assert_eq!(parse_rule("off").unwrap(), None);
        assert!(parse_rule("5").is_err());
        assert!(parse_rule("0/1m").is_err());
        assert!(parse_rule("x/1m").is_err());
        assert_eq!(human(1).to_string(), "1 second");
        assert_eq!(human(61).to_string(), "2 minutes");
        assert_eq!(human(900).to_string(), "15 minutes");
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        assert_eq!(client_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            client_key("2001:db8:1:2:ffff:abcd:1234:5678"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
        assert_eq!(client_key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(client_key(""), "");
    }
}
