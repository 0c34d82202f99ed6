//! Reading standard input a byte at a time (`--password-stdin`).

use std::io;

/// Reads one byte of standard input into `byte`; `Ok(0)` at its end.
///
/// - Unix: straight from file descriptor 0, retried after a signal: through std's buffered
///   stdin, a copy of what follows would stay in its buffer for the life of the process, and
///   more than the first line would be consumed.
/// - Elsewhere: through std's stdin, whose buffer may keep a copy of the bytes read until the
///   process exits (reading a console handle unbuffered needs `unsafe`).
pub(crate) fn read_byte(byte: &mut [u8; 1]) -> io::Result<usize> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        loop {
            match rustix::io::read(io::stdin().as_fd(), &mut *byte) {
                Err(rustix::io::Errno::INTR) => {}
                read => return read.map_err(io::Error::from),
            }
        }
    }
    #[cfg(not(unix))]
    {
        io::Read::read(&mut io::stdin().lock(), byte)
    }
}
