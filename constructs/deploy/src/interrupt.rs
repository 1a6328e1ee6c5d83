//! Ctrl-C, as a value: the CLI listens for SIGINT and tests trigger it by hand.

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

    /// Triggers this interrupt on Ctrl-C (SIGINT). Call inside a Tokio runtime.
    pub fn listen_for_ctrl_c(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                me.trigger();
            }
        });
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
