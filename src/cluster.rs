//! One process of a timely cluster: the connections between the processes, made here rather than
//! inside timely so that a peer that cannot be reached is named, retried until a deadline and then
//! reported, and so that the bytes exchanged between processes are counted.
//!
//! ```text
//!  process i: listen on its own port ─ accept i+1..N-1 ─┐
//!             connect to 0..i-1 (retrying) ─────────────┴─ handshake ─> timely allocators ─> workers
//! ```
//! Every connection starts with a handshake (a magic word, the sender's index and the cluster
//! size), so a process started with the wrong `--processes` is refused with a message, not a hang.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use timely_communication::Hooks;
use timely_communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely_communication::allocator::zero_copy::stream::Stream;
use timely_communication::allocator::{AllocatorBuilder, ProcessBuilder};
use tracing::{info, warn};

/// Says "this is a salesflow peer" at the start of every connection.
const MAGIC: u64 = u64::from_be_bytes(*b"SLSFLOW1");

/// Where this process sits in the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// This process's index, 0-based.
    pub process: usize,
    /// `host:port` of every process, in index order (this one's included).
    pub peers: Vec<String>,
    /// How long to keep trying to reach the peers before giving up.
    pub deadline: Duration,
}

/// Why the cluster could not form.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "process {process} could not reach every peer within {secs} s; still missing: {missing} (check --peers, that every process is started, and that the ports are open)",
        secs = deadline.as_secs()
    )]
    Unreachable {
        process: usize,
        deadline: Duration,
        missing: String,
    },
    #[error("process {process} cannot listen on {address}: {source}")]
    Listen {
        process: usize,
        address: String,
        source: io::Error,
    },
    #[error("a peer at {from} is not part of this cluster: {problem}")]
    Stranger { from: String, problem: String },
    #[error("stopped while waiting for peers")]
    Stopped,
    #[error("cannot set up the connections between processes: {0}")]
    Setup(io::Error),
}

/// Bytes sent to and received from the other processes, over all connections.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    pub sent: Arc<AtomicU64>,
    pub received: Arc<AtomicU64>,
}

/// A connection to a peer that counts what crosses it.
struct CountedStream {
    stream: TcpStream,
    traffic: Traffic,
}

impl Read for CountedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.traffic.received.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for CountedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.traffic.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Stream for CountedStream {
    fn try_clone(&self) -> io::Result<Self> {
        Ok(CountedStream {
            stream: self.stream.try_clone()?,
            traffic: self.traffic.clone(),
        })
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.stream.set_nonblocking(nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }
}

/// Makes the loss of a peer process end this one at once, with exit code 1 and one clear line,
/// instead of a cascade of panics from timely's network threads. Nothing more is written after a
/// peer is lost, so the job's progress stays at the last instant every process completed, and a
/// restart of all processes resumes from there.
pub fn exit_when_a_peer_is_lost() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("timely communication error") {
            tracing::error!(
                cause = message,
                "lost the connection to another process of the cluster; stopping. Restart every process: the job resumes after its last progress"
            );
            std::process::exit(1);
        }
        default(info);
    }));
}

/// What `timely::execute::execute_from` needs to run this process's workers in the cluster.
pub struct Connected {
    pub builders: Vec<AllocatorBuilder>,
    /// Keeps the network threads alive; dropped after the workers finish.
    pub guard: Box<dyn std::any::Any + Send>,
    pub traffic: Traffic,
}

/// Connects this process to every other one and builds the allocators of its `threads` workers.
pub fn connect(
    config: &ClusterConfig,
    threads: usize,
    stop: &AtomicBool,
) -> Result<Connected, ClusterError> {
    let sockets = sockets(config, stop)?;
    let traffic = Traffic::default();
    let counted: Vec<Option<CountedStream>> = sockets
        .into_iter()
        .map(|socket| {
            socket.map(|stream| CountedStream {
                stream,
                traffic: traffic.clone(),
            })
        })
        .collect();
    let hooks = Hooks::default();
    let local =
        ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(local, counted, config.process, threads, hooks)
            .map_err(ClusterError::Setup)?;
    Ok(Connected {
        builders: builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        guard: Box::new(guard),
        traffic,
    })
}

/// One socket per other process, in index order, `None` at this process's own index.
fn sockets(
    config: &ClusterConfig,
    stop: &AtomicBool,
) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let me = config.process;
    let count = config.peers.len();
    let (listener, listen) =
        listen(&config.peers[me]).map_err(|(address, source)| ClusterError::Listen {
            process: me,
            address,
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(ClusterError::Setup)?;
    info!(process = me, processes = count, listen, "waiting for peers");

    let started = Instant::now();
    let mut sockets: Vec<Option<TcpStream>> = (0..count).map(|_| None).collect();
    let mut last_error: Vec<String> = vec![String::from("not heard from yet"); count];
    let mut last_report = Instant::now();
    loop {
        // Dial the lower indices; the higher ones dial us.
        for peer in 0..me {
            if sockets[peer].is_none() {
                match dial(&config.peers[peer], me, count) {
                    Ok(stream) => {
                        info!(
                            process = me,
                            peer,
                            address = config.peers[peer],
                            "connected to peer"
                        );
                        sockets[peer] = Some(stream);
                    }
                    Err(error) => last_error[peer] = error.to_string(),
                }
            }
        }
        loop {
            match listener.accept() {
                Ok((stream, from)) => {
                    if let Some(peer) = answer(stream, &from.to_string(), me, count, &mut sockets)?
                    {
                        info!(process = me, peer, %from, "peer connected");
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => return Err(ClusterError::Setup(error)),
            }
        }
        let missing: Vec<usize> = (0..count)
            .filter(|&peer| peer != me && sockets[peer].is_none())
            .collect();
        if missing.is_empty() {
            info!(process = me, "every peer connected");
            return Ok(sockets);
        }
        let describe = || {
            missing
                .iter()
                .map(|&peer| {
                    format!(
                        "process {peer} at {} ({})",
                        config.peers[peer], last_error[peer]
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if started.elapsed() >= config.deadline {
            return Err(ClusterError::Unreachable {
                process: me,
                deadline: config.deadline,
                missing: describe(),
            });
        }
        if stop.load(Ordering::Relaxed) {
            return Err(ClusterError::Stopped);
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            warn!(
                process = me,
                missing = describe(),
                "still waiting for peers"
            );
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Listens at this process's own entry when that address is local (a pod's own DNS name, or one
/// of several loopback addresses on one machine), else on all interfaces at its port (a name that
/// does not resolve to this host yet).
fn listen(own: &str) -> Result<(TcpListener, String), (String, io::Error)> {
    if let Ok(listener) = TcpListener::bind(own) {
        return Ok((listener, own.to_string()));
    }
    let any = match own.rsplit_once(':') {
        Some((_, port)) => format!("0.0.0.0:{port}"),
        None => own.to_string(),
    };
    match TcpListener::bind(&any) {
        Ok(listener) => Ok((listener, any)),
        Err(error) => Err((any, error)),
    }
}

fn dial(address: &str, me: usize, count: usize) -> io::Result<TcpStream> {
    let target = address.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address")
    })?;
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
    stream.set_nodelay(true)?;
    let mut hello = [0u8; 24];
    hello[..8].copy_from_slice(&MAGIC.to_be_bytes());
    hello[8..16].copy_from_slice(&(me as u64).to_be_bytes());
    hello[16..].copy_from_slice(&(count as u64).to_be_bytes());
    stream.write_all(&hello)?;
    Ok(stream)
}

/// Reads a dialling peer's handshake and files its socket; returns its index. A connection that
/// does not greet like a salesflow process (a port scan, a probe) is dropped; a salesflow process
/// configured for another cluster is an error.
fn answer(
    mut stream: TcpStream,
    from: &str,
    me: usize,
    count: usize,
    sockets: &mut [Option<TcpStream>],
) -> Result<Option<usize>, ClusterError> {
    let stranger = |problem: String| ClusterError::Stranger {
        from: from.to_string(),
        problem,
    };
    stream.set_nonblocking(false).map_err(ClusterError::Setup)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(ClusterError::Setup)?;
    let mut hello = [0u8; 24];
    let word = |hello: &[u8; 24], i: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&hello[i * 8..i * 8 + 8]);
        u64::from_be_bytes(bytes)
    };
    if stream.read_exact(&mut hello).is_err() || word(&hello, 0) != MAGIC {
        warn!(%from, "dropped a connection that did not greet as a salesflow process");
        return Ok(None);
    }
    let word = |i| word(&hello, i);
    let (peer, their_count) = (word(1) as usize, word(2) as usize);
    if their_count != count {
        return Err(stranger(format!(
            "it runs with --processes {their_count}, this process with {count}"
        )));
    }
    if peer <= me || peer >= count {
        return Err(stranger(format!(
            "it claims process index {peer}, which should not dial process {me}"
        )));
    }
    stream.set_read_timeout(None).map_err(ClusterError::Setup)?;
    stream.set_nodelay(true).map_err(ClusterError::Setup)?;
    sockets[peer] = Some(stream);
    Ok(Some(peer))
}
