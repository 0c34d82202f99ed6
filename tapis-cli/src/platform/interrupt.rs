//! Reading a line at a prompt, ended by Ctrl-C with `ErrorKind::Interrupted` instead of the
//! process dying without a word (SIGINT's default action, or Windows' default console handler).

use std::io::{self, BufRead as _};

/// Reads a line of standard input into `line` (its length, 0 at the end of input), or fails
/// with `Interrupted` on Ctrl-C.
pub(crate) fn read_line(line: &mut String) -> io::Result<usize> {
    #[cfg(unix)]
    {
        wait_for_input_or_interrupt()?;
        io::stdin().lock().read_line(line)
    }
    // Ctrl-C ends a console read early and runs the console handler on another thread.
    #[cfg(not(unix))]
    {
        interrupted_while(|| io::stdin().lock().read_line(line))
    }
}

/// Waits until standard input has something to read (a line, on a terminal), or fails with
/// `Interrupted` on SIGINT. A handler that only sets a flag would not do: reads are restarted
/// after it. So the signal writes to a socket, and `poll` watches both.
#[cfg(unix)]
fn wait_for_input_or_interrupt() -> io::Result<()> {
    use rustix::event::{PollFd, PollFlags, poll};
    let (signalled, signal_end) = std::os::unix::net::UnixStream::pair()?;
    let handler = signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, signal_end)?;
    let stdin = io::stdin();
    let outcome = loop {
        let mut fds = [PollFd::new(&stdin, PollFlags::IN), PollFd::new(&signalled, PollFlags::IN)];
        match poll(&mut fds, None) {
            Ok(_) if !fds[1].revents().is_empty() => break Err(io::ErrorKind::Interrupted.into()),
            Ok(_) => break Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => break Err(io::Error::from(error)),
        }
    };
    signal_hook::low_level::unregister(handler);
    outcome
}

/// Runs `read` with a Ctrl-C (SIGINT) handler that only notes the signal, and fails with
/// `Interrupted` when it came: a read that Ctrl-C ended then reports it, whatever it returned.
pub(crate) fn interrupted_while<T>(read: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let interrupted = Arc::new(AtomicBool::new(false));
    let handler = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))?;
    let outcome = read();
    signal_hook::low_level::unregister(handler);
    match outcome {
        _ if interrupted.load(Ordering::SeqCst) => Err(io::ErrorKind::Interrupted.into()),
        outcome => outcome,
    }
}
