//! tokio-kvs: a small tokio server speaking kvs-server's protocol, the peer of bench/kvs.sh.
//!
//!     tokio-kvs IP:PORT DIR
//!
//! The protocol is the kv system's (systems/kv/kv.h): 4-byte big-endian length frames; a
//! request is a kind byte (1 Get, 2 Set, 3 Remove), the key's length (u16 BE) and key, and for
//! Set the value's length (u32 BE) and value; a response is a kind byte (1 Get, 2 Set,
//! 3 Remove, 4 Err), for Get a found byte then (found) the value's length (u32 BE) and value,
//! for Err a u16 length and the message. One task per connection, answering in order, on
//! tokio's multi-threaded runtime (one worker per core). The store does what the log engine
//! does on the way to an answer, in the simplest form: every set and remove appends a record
//! (kind, lengths, key, value) to DIR/tokio-kvs.log with one write (page cache, no fsync, as
//! kvs-server runs) and updates a HashMap, both under one std Mutex; gets read the map. There
//! is no recovery and no compaction: the peer is the cost of the network path and a write,
//! with tokio doing the I/O.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const FRAME_MAX: usize = 256 + 4096 + 16;

struct Store {
    map: HashMap<Vec<u8>, Vec<u8>>,
    log: File,
}

fn be(b: &[u8]) -> usize {
    b.iter().fold(0usize, |v, &x| v << 8 | x as usize)
}

/// The answer to one request frame; None for a malformed frame.
fn answer(store: &Mutex<Store>, req: &[u8]) -> Option<Vec<u8>> {
    if req.len() < 3 {
        return None;
    }
    let kind = req[0];
    let klen = be(&req[1..3]);
    if klen == 0 || 3 + klen > req.len() {
        return None;
    }
    let key = &req[3..3 + klen];
    let mut out = vec![kind];
    match kind {
        1 => {
            let s = store.lock().unwrap();
            match s.map.get(key) {
                Some(v) => {
                    out.push(1);
                    out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                    out.extend_from_slice(v);
                }
                None => out.push(0),
            }
        }
        2 => {
            if req.len() < 7 + klen || 7 + klen + be(&req[3 + klen..7 + klen]) != req.len() {
                return None;
            }
            let value = &req[7 + klen..];
            let mut s = store.lock().unwrap();
            if s.log.write_all(req).is_err() {
                return Some(err("IO error: write"));
            }
            s.map.insert(key.to_vec(), value.to_vec());
        }
        3 => {
            let mut s = store.lock().unwrap();
            if !s.map.contains_key(key) {
                return Some(err("Key not found"));
            }
            if s.log.write_all(req).is_err() {
                return Some(err("IO error: write"));
            }
            s.map.remove(key);
        }
        _ => return None,
    }
    Some(out)
}

fn err(msg: &str) -> Vec<u8> {
    let mut out = vec![4u8];
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg.as_bytes());
    out
}

async fn serve(conn: TcpStream, store: Arc<Mutex<Store>>) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let (rd, mut wr) = conn.into_split();
    let mut rd = BufReader::new(rd);
    let mut buf = vec![0u8; FRAME_MAX];
    loop {
        let mut hdr = [0u8; 4];
        if rd.read_exact(&mut hdr).await.is_err() {
            return Ok(());
        }
        let n = u32::from_be_bytes(hdr) as usize;
        if n > FRAME_MAX {
            return Ok(());
        }
        rd.read_exact(&mut buf[..n]).await?;
        let resp = answer(&store, &buf[..n]).unwrap_or_else(|| err("Invalid request"));
        let mut frame = Vec::with_capacity(4 + resp.len());
        frame.extend_from_slice(&(resp.len() as u32).to_be_bytes());
        frame.extend_from_slice(&resp);
        wr.write_all(&frame).await?;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: tokio-kvs IP:PORT DIR");
        std::process::exit(2);
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{}/tokio-kvs.log", args[2]))
        .expect("the log file");
    let store = Arc::new(Mutex::new(Store { map: HashMap::new(), log }));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_io().build().expect("runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(&args[1]).await.expect("bind");
        eprintln!("tokio-kvs listening on {}", args[1]);
        loop {
            let (conn, _) = listener.accept().await.expect("accept");
            let store = store.clone();
            tokio::spawn(async move {
                let _ = serve(conn, store).await;
            });
        }
    });
}
