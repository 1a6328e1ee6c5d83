//! Ctrl-C, as a value: the CLI listens for SIGINT and SIGTERM, and tests trigger it by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A one-shot interrupt flag that async code can wait on. Clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    fired: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    /// A flag that nothing has triggered yet.
    pub fn new() -> Self {
        Interrupt::default()
    }

    /// Triggers the interrupt: every current and future [`Interrupt::triggered`] completes.
    pub fn trigger(&self) {
        self.inner.fired.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether the interrupt was triggered.
    pub fn is_triggered(&self) -> bool {
        self.inner.fired.load(Ordering::SeqCst)
    }

    /// Completes once the interrupt is triggered.
    pub async fn triggered(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }

    /// Triggers this interrupt on Ctrl-C (SIGINT) and on SIGTERM (what CI runners and
    /// `kill` send on cancellation), so both get the same cleanup and the same exit code. A
    /// second signal ends the process at once (exit 130), whatever is still running: the way
    /// out when a cleanup takes longer than the person waiting. Call inside a Tokio runtime.
    pub fn listen_for_signals(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut signals = Signals::new();
            if !signals.next().await {
                return;
            }
            me.trigger();
            if signals.next().await {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "interrupted again: exiting now; anything the first interrupt was cleaning up may be left behind"
                );
                std::process::exit(130);
            }
        });
    }
}

/// SIGINT and SIGTERM as one stream.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        Signals {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    /// Waits for the next signal; false when no signal can be received any more.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        if let Some(term) = self.term.as_mut() {
            return tokio::select! {
                r = tokio::signal::ctrl_c() => r.is_ok(),
                r = term.recv() => r.is_some(),
            };
        }
        tokio::signal::ctrl_c().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn triggered_completes_before_and_after_the_trigger() {
        let i = Interrupt::new();
        let waiter = {
            let i = i.clone();
            tokio::spawn(async move { i.triggered().await })
        };
        tokio::task::yield_now().await;
        assert!(!i.is_triggered());
        i.trigger();
        waiter.await.expect("waiter finished");
        // Already triggered: returns at once.
        i.triggered().await;
        assert!(i.is_triggered());
    }
}
