//! An upstream response body as a stream of chunks, and taking what has already arrived without
//! waiting on the network: shared by the attempt that commits a stream (`crate::upstream`) and the
//! stream that forwards the rest (`crate::stream`).

use bytes::Bytes;
use futures::stream::BoxStream;

/// An upstream response body as it arrives: its data, chunk by chunk (trailers are dropped).
pub(crate) type BodyStream = BoxStream<'static, Result<Bytes, hyper::Error>>;

/// What `ProxyStream::gather` (and the first write of a stream) takes in at most before writing.
pub(crate) const GATHER_MAX_BYTES: usize = 256 * 1024;
/// Yields after which [`next_ready`] gives up: the connection task needs two scheduler rounds to
/// hand over each HTTP chunk it has already read (measured: one round always found nothing).
const GATHER_PATIENCE: usize = 2;

/// The next item of `rest` if the upstream connection has already read it: `None` when nothing
/// came within [`GATHER_PATIENCE`] yields (nothing is waited for on the network).
///
/// The upstream connection is read by its own task, which hands the body over one HTTP chunk at
/// a time (typically one SSE event each) and must run again before it can hand over the next.
/// Forwarding each event as it came made hyper write each on its own: a 12-event burst cost 12
/// `writev`s and, on a shared core, as many wake-ups of the client. Yielding lets that task run
/// first, so what it had read goes out in one write.
pub(crate) async fn next_ready(
    rest: &mut BodyStream,
) -> Option<Option<Result<Bytes, hyper::Error>>> {
    for _ in 0..GATHER_PATIENCE {
        tokio::task::yield_now().await;
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(rest.as_mut().poll_next(cx))).await;
        if let std::task::Poll::Ready(item) = polled {
            return Some(item);
        }
    }
    None
}
