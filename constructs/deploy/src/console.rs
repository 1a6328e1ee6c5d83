//! Where the CLI writes and reads: the terminal, or buffers in tests.
//!
//! Results (tables, diffs, change sets, event lines, summaries) go to `out`; errors, warnings,
//! prompts and the progress bar go to `err`. A console is *interactive* when a person can
//! answer prompts and watch a progress bar (stdin and stderr are terminals); otherwise it is a
//! CI log, one line per event, and every confirmation must come from a flag.

use std::collections::VecDeque;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::ProgressDrawTarget;

use crate::interrupt::Interrupt;

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

/// What a prompt got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A line of input, without its line ending.
    Line(String),
    /// End of input: nobody is there to answer.
    Closed,
    /// Ctrl-C while waiting.
    Interrupted,
}

enum Input {
    Stdin,
    Scripted(VecDeque<Scripted>),
}

/// A scripted answer for a test console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scripted {
    /// Type this line.
    Line(String),
    /// Press Ctrl-C at the prompt (triggers the console's interrupt).
    CtrlC,
}

/// Output and input for one CLI run.
#[derive(Clone)]
pub struct Console {
    out: Sink,
    err: Sink,
    input: Arc<Mutex<Input>>,
    interactive: bool,
    color: bool,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("interactive", &self.interactive)
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

/// The buffers behind a capturing console.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// Everything written to `out`.
    pub fn stdout(&self) -> String {
        self.out
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
    /// Everything written to `err`.
    pub fn stderr(&self) -> String {
        self.err
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
    /// `out` then `err`.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }
}

struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Console {
    /// The process's stdout, stderr and stdin. Interactive when stdin and stderr are terminals;
    /// colored when stdout is a terminal and `NO_COLOR` is unset.
    pub fn stdio() -> Self {
        let interactive = io::stdin().is_terminal() && io::stderr().is_terminal();
        let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Console {
            out: Arc::new(Mutex::new(Box::new(io::stdout()))),
            err: Arc::new(Mutex::new(Box::new(io::stderr()))),
            input: Arc::new(Mutex::new(Input::Stdin)),
            interactive,
            color,
        }
    }

    /// A console writing into memory, answering prompts from `answers`, never colored. An
    /// interactive one draws no progress bar (its draw target is hidden) but asks questions.
    pub fn capture(interactive: bool, answers: Vec<Scripted>) -> (Self, Captured) {
        let cap = Captured::default();
        let console = Console {
            out: Arc::new(Mutex::new(Box::new(SharedBuf(cap.out.clone())))),
            err: Arc::new(Mutex::new(Box::new(SharedBuf(cap.err.clone())))),
            input: Arc::new(Mutex::new(Input::Scripted(answers.into()))),
            interactive,
            color: false,
        };
        (console, cap)
    }

    /// Whether a person is there to answer and to watch a progress bar.
    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// Whether output may use ANSI colors.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Writes a line to `out`.
    pub fn out(&self, line: impl AsRef<str>) {
        write_line(&self.out, line.as_ref());
    }

    /// Writes a line to `err`.
    pub fn err(&self, line: impl AsRef<str>) {
        write_line(&self.err, line.as_ref());
    }

    /// Writes text to `out` as is (it carries its own line endings).
    pub fn out_raw(&self, text: &str) {
        if let Ok(mut w) = self.out.lock() {
            let _ = w.write_all(text.as_bytes());
            let _ = w.flush();
        }
    }

    /// Where a progress bar draws: stderr on a real terminal, nowhere when captured.
    pub fn progress_target(&self) -> ProgressDrawTarget {
        if self.interactive && self.is_stdio() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    fn is_stdio(&self) -> bool {
        self.input
            .lock()
            .map(|i| matches!(*i, Input::Stdin))
            .unwrap_or(false)
    }

    /// Wraps `text` in an ANSI color when colors are on. `code` is an SGR code (`31` red,
    /// `33` yellow, `32` green, `1` bold).
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Asks a question on `err` and reads one line, giving up on Ctrl-C.
    pub async fn prompt(&self, question: &str, interrupt: &Interrupt) -> Answer {
        if let Ok(mut w) = self.err.lock() {
            let _ = write!(w, "{question} ");
            let _ = w.flush();
        }
        let scripted = {
            let mut input = match self.input.lock() {
                Ok(i) => i,
                Err(_) => return Answer::Closed,
            };
            match &mut *input {
                Input::Stdin => None,
                Input::Scripted(q) => Some(q.pop_front()),
            }
        };
        let answer = match scripted {
            Some(Some(Scripted::Line(l))) => Answer::Line(l),
            Some(Some(Scripted::CtrlC)) => {
                interrupt.trigger();
                Answer::Interrupted
            }
            Some(None) => Answer::Closed,
            None => {
                let read = tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    match io::stdin().lock().read_line(&mut line) {
                        Ok(0) | Err(_) => None,
                        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
                    }
                });
                tokio::select! {
                    r = read => match r {
                        Ok(Some(l)) => Answer::Line(l),
                        _ => Answer::Closed,
                    },
                    _ = interrupt.triggered() => Answer::Interrupted,
                }
            }
        };
        if let Answer::Line(l) = &answer {
            if !self.is_stdio() {
                // Echo scripted answers so captured output reads like a terminal session.
                if let Ok(mut w) = self.err.lock() {
                    let _ = writeln!(w, "{l}");
                }
            }
        } else if let Ok(mut w) = self.err.lock() {
            let _ = writeln!(w);
        }
        answer
    }
}

fn write_line(sink: &Sink, line: &str) {
    if let Ok(mut w) = sink.lock() {
        let _ = writeln!(w, "{line}");
        let _ = w.flush();
    }
}
