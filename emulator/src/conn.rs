//! Connection admission: a per-IP connection limit and a deadline for the bytes that choose
//! the HTTP version, which hyper reads before any of its own timeouts start.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The HTTP/2 connection preface; any other first bytes mean HTTP/1.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Open connections per peer address.
#[derive(Debug)]
pub(crate) struct PerIp {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection: gives its place back when dropped.
#[derive(Debug)]
pub(crate) struct IpSlot {
    limits: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// At most `max` connections per address (at least one).
    pub(crate) fn new(max: usize) -> Arc<PerIp> {
        Arc::new(PerIp {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more connection from `ip`, or `None` when it already holds `max`.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Connections open from `ip`.
    #[cfg(test)]
    fn open(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Reads the first bytes of a connection, enough to tell HTTP/1 from the HTTP/2 preface, within
/// `deadline`. `None` when the peer sent nothing in time or closed: the connection is dropped
/// without an answer, as there is no request to answer.
pub(crate) async fn sniff<S: AsyncRead + Unpin>(io: &mut S, deadline: Duration) -> Option<Bytes> {
    let mut buf = Vec::with_capacity(H2_PREFACE.len());
    let read = async {
        while buf.len() < H2_PREFACE.len() {
            let mut chunk = [0u8; 24];
            let want = H2_PREFACE.len() - buf.len();
            let n = io.read(&mut chunk[..want]).await.ok()?;
            if n == 0 {
                return None;
            }
            let start = buf.len();
            buf.extend_from_slice(&chunk[..n]);
            if buf[start..] != H2_PREFACE[start..buf.len()] {
                break;
            }
        }
        Some(())
    };
    tokio::time::timeout(deadline, read).await.ok()??;
    Some(Bytes::from(buf))
}

/// A stream whose first bytes were already read: they are read again before the rest.
#[derive(Debug)]
pub(crate) struct Replay<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Replay<S> {
    /// `inner`, with `prefix` read first.
    pub(crate) fn new(prefix: Bytes, inner: S) -> Self {
        Replay { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.prefix.has_remaining() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[test]
    fn each_address_gets_its_own_limit() {
        let limits = PerIp::new(2);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let first = limits.admit(a).unwrap();
        let _second = limits.admit(a).unwrap();
        assert!(limits.admit(a).is_none());
        assert!(limits.admit(b).is_some());
        drop(first);
        assert_eq!(limits.open(a), 1);
        assert!(limits.admit(a).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn sniff_stops_at_the_first_byte_that_is_not_the_preface() {
        let (mut client, mut server) = tokio::io::duplex(64);
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let got = sniff(&mut server, Duration::from_secs(1)).await.unwrap();
        assert_eq!(&got[..], b"GET / HTTP/1.1\r\n");
        let (mut client, mut server) = tokio::io::duplex(64);
        client.write_all(H2_PREFACE).await.unwrap();
        client.write_all(b"more").await.unwrap();
        let got = sniff(&mut server, Duration::from_secs(1)).await.unwrap();
        assert_eq!(&got[..], H2_PREFACE);
    }

    #[tokio::test(start_paused = true)]
    async fn sniff_gives_up_on_silence_and_on_a_preface_that_stalls() {
        let (_client, mut server) = tokio::io::duplex(64);
        assert!(sniff(&mut server, Duration::from_secs(1)).await.is_none());
        let (mut client, mut server) = tokio::io::duplex(64);
        client.write_all(b"PRI * HT").await.unwrap();
        assert!(sniff(&mut server, Duration::from_secs(1)).await.is_none());
        let (client, mut server) = tokio::io::duplex(64);
        drop(client);
        assert!(sniff(&mut server, Duration::from_secs(1)).await.is_none());
    }

    #[tokio::test]
    async fn replay_reads_the_prefix_then_the_stream() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b" world").await.unwrap();
        drop(client);
        let mut r = Replay::new(Bytes::from_static(b"hello"), server);
        let mut out = String::new();
        r.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "hello world");
    }
}
