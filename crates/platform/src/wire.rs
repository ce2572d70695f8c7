//! What happens on the connection below the HTTP server, for answers hyper gives on its own.
//!
//! - **Protocol errors.** When hyper cannot parse a request head (conflicting `Content-Length`
//!   headers, a malformed header, a URI over its limit, a head too large) it answers 400, 414
//!   or 431 itself, before any of our layers run, with an empty body and none of our headers;
//!   hyper offers no hook to change that answer. [`Guarded`] recognizes that answer where it is
//!   written — a bare head with nothing but `content-length: 0`, `date` and `connection` — and
//!   writes a problem+json with the security headers in its place. Our own answers always carry
//!   the security headers (`server::service_app` adds them outermost), so they never match.
//! - **Lingering close.** When we answer before reading a request's whole body (413 for a body
//!   over the limit) and close, the client's unread bytes make the kernel reset the connection,
//!   and a client that writes its whole body before reading (Python's `urllib`, Java's
//!   `HttpURLConnection`) sees the reset instead of our answer. So after such an answer (a 413,
//!   or a protocol error replaced as above) [`Guarded`]'s shutdown first ends its sending side
//!   and then reads and discards what the client still sends — up to [`DRAIN_MAX_BYTES`], for at
//!   most [`DRAIN_MAX_TIME`], and stops once the client is quiet for [`DRAIN_IDLE`] — before the
//!   connection is closed. Only then: a keep-alive connection closed in the ordinary way must
//!   close at once, or a client that just sent its next request on it would wait for an answer
//!   that never comes instead of retrying on a fresh connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::error::{PROBLEM_JSON, Problem};

pub const DRAIN_MAX_BYTES: usize = 64 * 1024 * 1024;
pub const DRAIN_MAX_TIME: Duration = Duration::from_secs(10);
pub const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// A connection's stream, with hyper's own error answers replaced and a lingering close.
pub struct Guarded<S> {
    inner: S,
    /// Our replacement of hyper's answer still being written, and the length of hyper's.
    replacing: Option<(Vec<u8>, usize)>,
    /// An answer was written that the client may not read before it finished sending.
    linger: bool,
    drain: Option<Drain>,
}

struct Drain {
    left: usize,
    until: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<S> Guarded<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            replacing: None,
            linger: false,
            drain: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none()
            && let Some(status) = hyper_error_status(buf)
        {
            self.replacing = Some((problem_answer(status), buf.len()));
            self.linger = true;
        }
        if buf.starts_with(b"HTTP/1.1 413 ") {
            self.linger = true;
        }
        let this = &mut *self;
        let Some((answer, hyper_len)) = &mut this.replacing else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        // Hyper calls again with the same bytes while this returns `Pending`.
        while !answer.is_empty() {
            let written = ready!(Pin::new(&mut this.inner).poll_write(cx, answer))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            answer.drain(..written);
        }
        let hyper_len = *hyper_len;
        this.replacing = None;
        Poll::Ready(Ok(hyper_len))
    }

    /// Hyper writes head and body with one call when the stream takes vectored writes; the
    /// checks above look at the first slice, where a head starts.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut filled = bufs.iter().filter(|buf| !buf.is_empty());
        if let (Some(first), None) = (filled.next(), filled.next())
            && (self.replacing.is_some() || hyper_error_status(first).is_some())
        {
            return self.poll_write(cx, first);
        }
        if bufs
            .iter()
            .find(|buf| !buf.is_empty())
            .is_some_and(|first| first.starts_with(b"HTTP/1.1 413 "))
        {
            self.linger = true;
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.linger {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        }
        if this.drain.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            let now = Instant::now();
            this.drain = Some(Drain {
                left: DRAIN_MAX_BYTES,
                until: now + DRAIN_MAX_TIME,
                timer: Box::pin(tokio::time::sleep_until(now + DRAIN_IDLE)),
            });
        }
        let Some(drain) = this.drain.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; 16 * 1024];
        loop {
            if drain.left == 0 || drain.timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut read = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if !read.filled().is_empty() => {
                    drain.left = drain.left.saturating_sub(read.filled().len());
                    let next = (Instant::now() + DRAIN_IDLE).min(drain.until);
                    drain.timer.as_mut().reset(next);
                }
                // The client closed, or the connection broke: nothing left to wait for.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The status of `buf` when it is exactly one of hyper's own error answers: a response head
/// with status 400, 414 or 431 and no header but `content-length: 0`, `date`, `connection`.
fn hyper_error_status(buf: &[u8]) -> Option<StatusCode> {
    // Cheap first: hyper's answer is a short head.
    if buf.len() > 512 || !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    let text = std::str::from_utf8(buf).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?
        .get(..3)?;
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    let ours = [
        StatusCode::BAD_REQUEST,
        StatusCode::URI_TOO_LONG,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    ];
    let bare = lines.all(|line| {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => value.trim() == "0",
            "date" | "connection" => true,
            _ => false,
        }
    });
    (ours.contains(&status) && bare).then_some(status)
}

/// The problem+json answer, with the security headers, that replaces hyper's bare one.
fn problem_answer(status: StatusCode) -> Vec<u8> {
    let detail = match status {
        StatusCode::URI_TOO_LONG => "The request URI is too long.",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "The request's header fields are too large.",
        _ => "The request is not valid HTTP (e.g. conflicting Content-Length headers).",
    };
    let body = serde_json::to_vec(&Problem::new(status, detail.to_owned())).unwrap_or_default();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\nconnection: close\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    );
    for (name, value) in &crate::security::protocol_error_headers() {
        head.push_str(&format!(
            "{name}: {}\r\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    head.push_str("\r\n");
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&body);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_only_hyper_s_bare_error_answers() {
        let bare = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 19:00:00 GMT\r\n\r\n";
        assert_eq!(
            hyper_error_status(bare.as_bytes()),
            Some(StatusCode::BAD_REQUEST)
        );
        let long = "HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            hyper_error_status(long.as_bytes()),
            Some(StatusCode::URI_TOO_LONG)
        );
        for ours in [
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-content-type-options: nosniff\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            "{\"a\":1}",
        ] {
            assert_eq!(hyper_error_status(ours.as_bytes()), None, "{ours}");
        }
    }

    #[test]
    fn the_replacement_is_a_problem_with_the_security_headers() {
        let answer = String::from_utf8(problem_answer(StatusCode::BAD_REQUEST)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains("content-type: application/problem+json\r\n"));
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())));
        assert!(head.contains("x-content-type-options: nosniff\r\n"));
        assert!(head.contains("x-frame-options: DENY\r\n"));
        let problem: Problem = serde_json::from_str(body).unwrap();
        assert_eq!(problem.status, 400);
    }
}
