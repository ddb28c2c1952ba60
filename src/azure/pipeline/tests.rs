//! Unit tests of the policy chain against the fake transport, on tokio's paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use super::super::error::AzureError;
use super::fake::{Fake, Reply, ctx, ext_path, pipeline_alone, poll_request, request};
use super::{Call, Handling};

/// A PUT through a pipeline of its own, with a deadline of `secs`, that must fail.
async fn failed_put(fake: &Arc<Fake>, secs: u64) -> AzureError {
    pipeline_alone(fake)
        .send(request(Method::PUT, &ext_path(1)), None, &ctx(secs))
        .await
        .expect_err("the PUT fails")
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_with_one_request_id() {
    let fake = Fake::new(|_, i| {
        if i < 2 {
            Reply::json(503, "")
        } else {
            Reply::ok()
        }
    });
    let p = pipeline_alone(&fake);
    let resp = p
        .send(request(Method::GET, "/x"), None, &ctx(60))
        .await
        .expect("ok");
    assert_eq!(resp.status.as_u16(), 200);
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen[0].request_id.is_some());
    assert!(seen.iter().all(|s| s.request_id == seen[0].request_id));
    // Never an immediate retry.
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn bearer_token_is_attached_only_to_authenticated_requests() {
    let fake = Fake::new(|_, _| Reply::ok());
    let p = pipeline_alone(&fake);
    let cloud = super::super::cloud::CloudEndpoints {
        resource_manager: "https://arm.test".into(),
        authority_host: "https://login.test".into(),
        token_scope: "https://arm.test/.default".into(),
    };
    let mut req = request(Method::GET, "/x");
    req.handling.authenticated = true;
    p.send(req, Some(&cloud), &ctx(60)).await.expect("ok");
    p.send(request(Method::GET, "/y"), None, &ctx(60))
        .await
        .expect("ok");
    let seen = fake.seen();
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer fake-token"));
    assert_eq!(seen[1].authorization, None);
}

#[tokio::test(start_paused = true)]
async fn throttling_past_the_deadline_fails_at_once() {
    let fake = Fake::new(|_, _| Reply::throttled(1200, "OperationNotAllowed"));
    let p = pipeline_alone(&fake);
    let started = Instant::now();
    let err = p
        .send(request(Method::GET, "/x"), None, &ctx(20))
        .await
        .expect_err("throttled");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(err, AzureError::Throttled { retry_after, .. } if retry_after == Duration::from_secs(1200)),
        "{err:?}"
    );
    assert!(!err.may_have_reached_azure());
}

#[tokio::test(start_paused = true)]
async fn connection_failures_say_nothing_was_sent() {
    let fake = Fake::new(|_, _| Reply::ConnectFailure);
    let err = failed_put(&fake, 600).await;
    assert!(
        matches!(err, AzureError::Transport { sent: false, .. }),
        "{err:?}"
    );
    assert!(!err.may_have_reached_azure());
    assert_eq!(fake.seen().len(), 4, "three retries");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_after_a_server_error_may_have_reached_azure() {
    let fake =
        Fake::new(|_, _| Reply::Status(500, vec![("retry-after", "30".into())], String::new()));
    let err = failed_put(&fake, 10).await;
    assert!(
        matches!(err, AzureError::DeadlineExceeded { sent: true, .. }),
        "{err:?}"
    );
    assert!(err.may_have_reached_azure());
}

#[tokio::test(start_paused = true)]
async fn a_refusal_before_sending_is_not_an_unknown_outcome() {
    let fake = Fake::new(|_, _| Reply::ok());
    let p = pipeline_alone(&fake);
    let mut req = request(Method::GET, "/x");
    req.handling.authenticated = true;
    let err = p.send(req, None, &ctx(10)).await.expect_err("no cloud");
    assert!(matches!(err, AzureError::Internal { .. }), "{err:?}");
    assert!(!err.may_have_reached_azure());
    assert!(fake.seen().is_empty());
}

/// Status reads go through the same loop: "InProgress" is read again on the poll schedule, a
/// longer server Retry-After wins, and a failed read in between is retried like any request.
#[tokio::test(start_paused = true)]
async fn polls_follow_the_schedule_and_honour_retry_after() {
    let fake = Fake::new(|_, i| match i {
        0 | 1 => Reply::in_progress(),
        2 => Reply::Status(
            200,
            vec![("retry-after", "3".into())],
            r#"{"status":"InProgress"}"#.into(),
        ),
        3 => Reply::json(503, ""),
        _ => Reply::json(200, r#"{"status":"Succeeded"}"#),
    });
    let p = pipeline_alone(&fake);
    let req = poll_request();
    let started = Instant::now();
    let resp = p.send(req, None, &ctx(60)).await.expect("ok");
    assert!(String::from_utf8_lossy(&resp.body).contains("Succeeded"));
    let seen = fake.seen();
    assert_eq!(seen.len(), 5);
    // The first read comes quickly.
    assert!(
        seen[0].at - started <= Duration::from_millis(150),
        "{:?}",
        seen[0].at - started
    );
    // The third answer asked for 3 s.
    assert!(seen[3].at - seen[2].at >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_poll_cut_by_the_deadline_may_have_reached_azure() {
    let fake = Fake::new(|_, _| Reply::in_progress());
    let p = pipeline_alone(&fake);
    let req = poll_request();
    let err = p.send(req, None, &ctx(5)).await.expect_err("deadline");
    assert!(
        matches!(err, AzureError::DeadlineExceeded { sent: true, .. }),
        "{err:?}"
    );
}

/// The first minute of a long operation stays within 30 status reads for one VM.
#[tokio::test(start_paused = true)]
async fn a_long_operation_is_polled_at_most_30_times_in_its_first_minute() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let fake = Fake::new(move |_, _| {
        c.fetch_add(1, Ordering::SeqCst);
        Reply::Status(
            200,
            vec![("retry-after", "0".into())],
            r#"{"status":"InProgress"}"#.into(),
        )
    });
    let p = pipeline_alone(&fake);
    let req = poll_request();
    let _ = p.send(req, None, &ctx(60)).await;
    let reads = count.load(Ordering::SeqCst);
    assert!((15..=30).contains(&reads), "{reads}");
}

#[test]
fn call_context_is_typed() {
    let ctx = azure_core::http::Context::new().with_value(Call {
        op: ctx(1),
        cloud: None,
        handling: Handling {
            authenticated: false,
            ..Handling::arm("x".into())
        },
    });
    assert!(super::step::call(&ctx).is_ok());
    assert!(super::step::call(&azure_core::http::Context::new()).is_err());
}
